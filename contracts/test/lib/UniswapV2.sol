// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IUniswapV2Pair, IUniswapV2Router} from "../../src/interfaces/IUniswapV2.sol";
import {Vm} from "./Vm.sol";

/// @dev The Uniswap v2 factory calls the tests make.
interface IUniswapV2FactoryTest {
    function createPair(address tokenA, address tokenB) external returns (address pair);
    function getPair(address tokenA, address tokenB) external view returns (address pair);
}

/// @dev The Uniswap v2 router02 calls the tests make, beyond the swap agents use.
interface IUniswapV2RouterTest is IUniswapV2Router {
    function factory() external view returns (address);
    function addLiquidity(
        address tokenA,
        address tokenB,
        uint256 amountADesired,
        uint256 amountBDesired,
        uint256 amountAMin,
        uint256 amountBMin,
        address to,
        uint256 deadline
    ) external returns (uint256 amountA, uint256 amountB, uint256 liquidity);
    function getAmountsOut(uint256 amountIn, address[] calldata path) external view returns (uint256[] memory);
}

/// @dev Deploys the real Uniswap v2 factory and router02 from the creation bytecode in the npm
/// packages' build artifacts (the v2-core and v2-periphery packages).
library UniswapV2 {
    Vm internal constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @dev The pair init code hash router02 (UniswapV2Library.pairFor) has compiled in.
    bytes32 internal constant ROUTER_INIT_CODE_HASH =
        0x96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f;

    error DeploymentFailed(string name);

    function deployFactory(address feeToSetter) internal returns (IUniswapV2FactoryTest) {
        bytes memory code = creationCode("v2-core", "UniswapV2Factory");
        return IUniswapV2FactoryTest(_create(bytes.concat(code, abi.encode(feeToSetter)), "UniswapV2Factory"));
    }

    function deployRouter(address factory, address weth) internal returns (IUniswapV2RouterTest) {
        bytes memory code = creationCode("v2-periphery", "UniswapV2Router02");
        return
            IUniswapV2RouterTest(_create(bytes.concat(code, abi.encode(factory, weth)), "UniswapV2Router02"));
    }

    /// @dev The `bytecode` field of `node_modules/@uniswap/<package>/build/<name>.json`.
    function creationCode(string memory package, string memory name) internal view returns (bytes memory) {
        string memory path =
            string.concat(VM.projectRoot(), "/../node_modules/@uniswap/", package, "/build/", name, ".json");
        return VM.parseJsonBytes(VM.readFile(path), ".bytecode");
    }

    /// @dev The CREATE2 address the factory gives the pair of two tokens, from an init code hash.
    function pairFor(address factory, address tokenA, address tokenB, bytes32 initCodeHash)
        internal
        pure
        returns (address)
    {
        (address token0, address token1) = tokenA < tokenB ? (tokenA, tokenB) : (tokenB, tokenA);
        bytes32 salt = keccak256(abi.encodePacked(token0, token1));
        return address(uint160(uint256(keccak256(abi.encodePacked(hex"ff", factory, salt, initCodeHash)))));
    }

    function _create(bytes memory initCode, string memory name) private returns (address deployed) {
        assembly ("memory-safe") {
            deployed := create(0, add(initCode, 0x20), mload(initCode))
        }
        if (deployed == address(0)) revert DeploymentFailed(name);
    }
}
