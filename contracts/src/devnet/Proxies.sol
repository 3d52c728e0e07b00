// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";

/// @title DevnetProxies
/// @notice Names the proxy EigenLayer's core contracts run behind on a devnet, so the build always
/// produces OpenZeppelin's ERC1967Proxy artifact (and so its Rust binding).
abstract contract DevnetProxies {
    /// @dev The deployable proxy's creation code, for tooling that deploys from Solidity.
    function _proxyCreationCode() internal pure returns (bytes memory) {
        return type(ERC1967Proxy).creationCode;
    }
}
