// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {TestBase} from "../lib/Vm.sol";
import {TestToken} from "../lib/TestToken.sol";
import {IUniswapV2FactoryTest, IUniswapV2RouterTest, UniswapV2} from "../lib/UniswapV2.sol";

/// @dev The npm Uniswap v2 artifacts fit together: router02's compiled-in pair init code hash is the
/// hash of the pair creation code the factory deploys, so the router finds the factory's pairs.
contract UniswapArtifactsTest is TestBase {
    function test_pairInitCodeHashMatchesRouter() public {
        bytes memory pairCode = UniswapV2.creationCode("v2-core", "UniswapV2Pair");
        assertEq(keccak256(pairCode), UniswapV2.ROUTER_INIT_CODE_HASH, "pair init code hash");

        IUniswapV2FactoryTest factory = UniswapV2.deployFactory(address(this));
        IUniswapV2RouterTest router = UniswapV2.deployRouter(address(factory), address(0xE7E7));
        TestToken a = new TestToken("A", "A");
        TestToken b = new TestToken("B", "B");
        address pair = factory.createPair(address(a), address(b));
        assertEq(
            pair, UniswapV2.pairFor(address(factory), address(a), address(b), keccak256(pairCode)), "create2"
        );

        a.mint(address(this), 1000 ether);
        b.mint(address(this), 1000 ether);
        a.approve(address(router), type(uint256).max);
        b.approve(address(router), type(uint256).max);
        // The router reaches the pair only through its own pairFor: a hash mismatch would revert here.
        router.addLiquidity(
            address(a), address(b), 100 ether, 200 ether, 0, 0, address(this), block.timestamp
        );
        address[] memory path = new address[](2);
        (path[0], path[1]) = (address(a), address(b));
        uint256[] memory amounts =
            router.swapExactTokensForTokens(1 ether, 0, path, address(this), block.timestamp);
        assertEq(b.balanceOf(address(this)), 800 ether + amounts[1], "swap output");
        assertTrue(amounts[1] > 1.9 ether && amounts[1] < 2 ether, "price about 2");
    }
}
