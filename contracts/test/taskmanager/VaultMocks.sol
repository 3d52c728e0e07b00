// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {TestToken} from "../lib/TestToken.sol";

/// @dev An action target that pulls tokens from its caller with the allowance it was given.
contract Puller {
    function pull(IERC20 token, uint256 amount) external {
        // OpenZeppelin tokens revert on failure; a false return would be a test bug worth a revert too.
        require(token.transferFrom(msg.sender, address(this), amount), "pull failed");
    }
}

/// @dev A token whose transferFrom also burns `fee` from the sender, beyond the allowance spent: an
/// outflow that only the vault's balance measurement can see.
contract GreedyToken is TestToken {
    uint256 public immutable fee;

    constructor(uint256 fee_) TestToken("Greedy", "GRD") {
        fee = fee_;
    }

    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        super.transferFrom(from, to, value);
        _burn(from, fee);
        return true;
    }
}

/// @dev Records every call it receives from the vault: the invariant test's view of what executed.
contract ActionProbe {
    struct Hit {
        uint64 taskId;
        uint256 blockNumber;
        address caller;
    }

    Hit[] internal _hits;

    function hit(uint64 taskId) external {
        _hits.push(Hit({taskId: taskId, blockNumber: block.number, caller: msg.sender}));
    }

    /// @dev A hit that also takes `amount` of `token` from the caller, with the allowance it was given:
    /// an action that moves value out of the vault.
    function hitAndTake(uint64 taskId, IERC20 token, uint256 amount) external {
        _hits.push(Hit({taskId: taskId, blockNumber: block.number, caller: msg.sender}));
        require(token.transferFrom(msg.sender, address(this), amount), "take failed");
    }

    function hitCount() external view returns (uint256) {
        return _hits.length;
    }

    function hitAt(uint256 index) external view returns (Hit memory) {
        return _hits[index];
    }
}

/// @dev An action target that pulls two tokens from its caller with the allowances it was given.
contract TwoTokenPuller {
    function pull(IERC20 tokenA, uint256 amountA, IERC20 tokenB, uint256 amountB) external {
        require(tokenA.transferFrom(msg.sender, address(this), amountA), "pull A failed");
        require(tokenB.transferFrom(msg.sender, address(this), amountB), "pull B failed");
    }
}

/// @dev A token anyone can burn from anyone: an outflow that needs no allowance at all.
contract LeakyToken is TestToken {
    constructor() TestToken("Leaky", "LEAK") {}

    function leak(address from, uint256 amount) external {
        _burn(from, amount);
    }
}

/// @dev An action target that makes its caller's leaky tokens leak.
contract Leaker {
    function leak(LeakyToken token, uint256 amount) external {
        token.leak(msg.sender, amount);
    }
}
