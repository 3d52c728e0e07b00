// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {MlpPolicy} from "./MlpPolicy.sol";
import {NetworkAgentVerifier} from "./NetworkAgentVerifier.sol";

/// @title NetworkVerifierDeployer
/// @notice Deploys `NetworkAgentVerifier`s for the verifier factory that created it. It exists so that
/// the factory's own code stays within the size limit: the verifier's creation code lives here.
contract NetworkVerifierDeployer {
    /// @notice The factory this deployer works for, its only caller.
    address public immutable factory;

    /// @notice Only the factory deploys here: a verifier's address is fixed by the factory's salt.
    error NotFactory(address caller);

    constructor() {
        factory = msg.sender;
    }

    /// @notice Deploys the verifier of `header`, `weightsRoot` and `params` with CREATE2 salted by its
    /// agent hash. Reverts with the verifier's constructor errors.
    function deploy(
        bytes calldata header,
        bytes32 weightsRoot,
        MlpPolicy.Params calldata params,
        bytes32 salt
    ) external returns (address) {
        if (msg.sender != factory) revert NotFactory(msg.sender);
        return address(new NetworkAgentVerifier{salt: salt}(header, weightsRoot, params));
    }
}
