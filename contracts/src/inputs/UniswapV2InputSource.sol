// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {AgentInput} from "../agent/AgentTypes.sol";
import {IAgentInputSource} from "../interfaces/IAgentInputSource.sol";
import {IUniswapV2Pair} from "../interfaces/IUniswapV2.sol";

/// @title UniswapV2InputSource
/// @notice The input of agents that trade on one Uniswap v2 pair: per agent, a ring buffer of the
/// pair's price recorded at most once per block (by anyone, through `observe`, and by every
/// `openTask`), and the snapshot a task is opened on: `abi.encode(AgentInput)` with the pair's
/// reserves, the vault's balances, the last 16 prices and the block timestamp.
/// @dev Serves one task manager and one pair, both fixed at deployment; every agent of that task
/// manager trading on the pair can use it, each with its own history.
contract UniswapV2InputSource is IAgentInputSource {
    using SafeCast for uint256;

    /// @notice Number of prices in an agent's history and in every snapshot.
    uint256 public constant HISTORY_LENGTH = 16;
    /// @dev A packed half holding this marker has its price (2^128 - 1 or more, only possible with
    /// a near-empty base reserve) in `_widePrices`.
    uint256 private constant WIDE = type(uint128).max;

    /// @dev One slot per agent, read and written whole by `observe` and `snapshot`.
    struct Observations {
        uint32 lastObservedAt;
        uint8 observations;
        /// @dev Ring-buffer index of the next price to write.
        uint8 next;
        bool baseIsToken0;
        bool registered;
    }

    /// @inheritdoc IAgentInputSource
    address public immutable taskManager;
    /// @notice The pair whose reserves and price every agent of this source reads.
    IUniswapV2Pair public immutable pair;

    mapping(uint64 agentId => Observations) private _agents;
    /// @dev Two prices per word, price `i` in word `i / 2` (low half for even `i`): a snapshot reads
    /// eight cold slots instead of sixteen.
    mapping(uint64 agentId => uint256[HISTORY_LENGTH / 2]) private _packedPrices;
    mapping(uint64 agentId => mapping(uint256 index => uint256)) private _widePrices;

    /// @notice An agent of the task manager was bound to this source's pair.
    event AgentBound(uint64 indexed agentId, address tokenBase, address tokenQuote, bool baseIsToken0);
    /// @notice The pair's price (quote per base, 1e18 fixed point) was recorded for an agent.
    event PriceObserved(uint64 indexed agentId, uint256 price, uint32 blockNumber);

    /// @notice The base and quote tokens are not the pair's two tokens.
    error TokensNotInPair(address pair, address tokenBase, address tokenQuote);
    /// @notice The agent is already bound to this source.
    error AgentAlreadyRegistered(uint64 agentId);
    /// @notice The agent's price was already observed in this block.
    error AlreadyObserved(uint64 agentId, uint32 blockNumber);
    /// @notice Fewer than 16 prices have been observed for the agent.
    error InsufficientHistory(uint64 agentId, uint256 observations);

    /// @param taskManager_ The task manager whose agents this source serves.
    /// @param pair_ The Uniswap v2 pair the agents trade on.
    constructor(address taskManager_, address pair_) {
        taskManager = taskManager_;
        pair = IUniswapV2Pair(pair_);
    }

    modifier onlyTaskManager() {
        if (msg.sender != taskManager) revert NotTaskManager(msg.sender);
        _;
    }

    /// @inheritdoc IAgentInputSource
    /// @dev Reverts with `TokensNotInPair` unless the two tokens are the pair's.
    function registerAgent(uint64 agentId, address tokenBase, address tokenQuote) external onlyTaskManager {
        if (_agents[agentId].registered) revert AgentAlreadyRegistered(agentId);
        address token0 = pair.token0();
        address token1 = pair.token1();
        bool baseIsToken0;
        if (tokenBase == token0 && tokenQuote == token1) {
            baseIsToken0 = true;
        } else if (tokenBase != token1 || tokenQuote != token0) {
            revert TokensNotInPair(address(pair), tokenBase, tokenQuote);
        }
        _agents[agentId] = Observations({
            lastObservedAt: 0, observations: 0, next: 0, baseIsToken0: baseIsToken0, registered: true
        });
        emit AgentBound(agentId, tokenBase, tokenQuote, baseIsToken0);
    }

    /// @notice Records the pair's current price for an agent, at most once per block. Permissionless.
    /// @param agentId The agent.
    function observe(uint64 agentId) external {
        Observations memory state = _agents[agentId];
        if (!state.registered) revert UnknownAgent(agentId);
        if (state.lastObservedAt == block.number) revert AlreadyObserved(agentId, state.lastObservedAt);
        (uint112 reserveBase, uint112 reserveQuote) = _reserves(state.baseIsToken0);
        _record(agentId, state, reserveBase, reserveQuote);
        _agents[agentId] = state;
    }

    /// @inheritdoc IAgentInputSource
    /// @dev Records this block's price first if nobody has yet, then requires a full history.
    function snapshot(uint64 agentId, address vault, address tokenBase, address tokenQuote)
        external
        onlyTaskManager
        returns (bytes memory input)
    {
        Observations memory state = _agents[agentId];
        (uint112 reserveBase, uint112 reserveQuote) = _reserves(state.baseIsToken0);
        if (state.lastObservedAt != block.number) {
            _record(agentId, state, reserveBase, reserveQuote);
            _agents[agentId] = state;
        }
        if (state.observations < HISTORY_LENGTH) revert InsufficientHistory(agentId, state.observations);
        return abi.encode(
            AgentInput({
                vault: vault,
                tokenBase: tokenBase,
                tokenQuote: tokenQuote,
                reserveBase: reserveBase,
                reserveQuote: reserveQuote,
                balanceBase: IERC20(tokenBase).balanceOf(vault),
                balanceQuote: IERC20(tokenQuote).balanceOf(vault),
                priceHistory: _history(agentId, state),
                timestamp: block.timestamp.toUint64()
            })
        );
    }

    /// @inheritdoc IAgentInputSource
    /// @dev Reads the head of `abi.encode(AgentInput)` (offset word, vault, tokenBase, tokenQuote,
    /// reserveBase, reserveQuote) without decoding the price history.
    function valuation(bytes calldata input)
        external
        pure
        returns (address tokenBase, address tokenQuote, uint256 reserveBase, uint256 reserveQuote)
    {
        (, tokenBase, tokenQuote, reserveBase, reserveQuote) =
            abi.decode(input[0x20:0xc0], (address, address, address, uint112, uint112));
    }

    /// @inheritdoc IAgentInputSource
    /// @dev Assumes one observation in every block from now on: the snapshot itself records one in
    /// its block if none was.
    function readyAt(uint64 agentId) external view returns (uint256 fromBlock) {
        Observations memory state = _agents[agentId];
        if (!state.registered) revert UnknownAgent(agentId);
        uint256 available = uint256(state.observations) + (state.lastObservedAt == block.number ? 0 : 1);
        if (available >= HISTORY_LENGTH) return block.number;
        return block.number + HISTORY_LENGTH - available;
    }

    /// @notice The agent's recorded prices, oldest first (at most 16).
    function priceHistory(uint64 agentId) external view returns (uint256[] memory) {
        return _history(agentId, _agents[agentId]);
    }

    /// @notice The block of the agent's latest observation (0 if none) and how many it has, saturating
    /// at the history length.
    function observationStatus(uint64 agentId)
        external
        view
        returns (uint32 lastObservedAt, uint8 observations)
    {
        Observations memory state = _agents[agentId];
        return (state.lastObservedAt, state.observations);
    }

    function _reserves(bool baseIsToken0) private view returns (uint112 reserveBase, uint112 reserveQuote) {
        (uint112 reserve0, uint112 reserve1,) = pair.getReserves();
        return baseIsToken0 ? (reserve0, reserve1) : (reserve1, reserve0);
    }

    /// @dev Appends the price to the agent's ring buffer and updates `state` in memory; the caller
    /// writes it back. An empty pool has no price: it is recorded as 0, a fact the agent can see.
    function _record(uint64 agentId, Observations memory state, uint112 reserveBase, uint112 reserveQuote)
        private
    {
        uint256 price = reserveBase == 0 ? 0 : uint256(reserveQuote) * 1e18 / reserveBase;
        uint32 currentBlock = block.number.toUint32();
        uint256 index = state.next;
        uint256 half = price;
        if (price >= WIDE) {
            half = WIDE;
            _widePrices[agentId][index] = price;
        }
        uint256 shift = (index & 1) << 7;
        uint256[HISTORY_LENGTH / 2] storage words = _packedPrices[agentId];
        words[index >> 1] = (words[index >> 1] & ~(WIDE << shift)) | (half << shift);
        // The index is taken modulo 16, so it fits.
        // forge-lint: disable-next-line(unsafe-typecast)
        state.next = uint8((index + 1) % HISTORY_LENGTH);
        if (state.observations < HISTORY_LENGTH) ++state.observations;
        state.lastObservedAt = currentBlock;
        emit PriceObserved(agentId, price, currentBlock);
    }

    /// @dev The recorded prices, oldest first. Once the buffer is full the oldest is at `next`.
    function _history(uint64 agentId, Observations memory state)
        private
        view
        returns (uint256[] memory history)
    {
        uint256 count = state.observations;
        uint256 start = count < HISTORY_LENGTH ? 0 : state.next;
        uint256[HISTORY_LENGTH / 2] storage words = _packedPrices[agentId];
        history = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            uint256 index = (start + i) % HISTORY_LENGTH;
            uint256 half = (words[index >> 1] >> ((index & 1) << 7)) & WIDE;
            history[i] = half == WIDE ? _widePrices[agentId][index] : half;
        }
    }
}
