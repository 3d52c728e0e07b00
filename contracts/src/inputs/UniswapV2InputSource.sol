// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {AgentInput} from "../agent/AgentTypes.sol";
import {IAgentInputSource} from "../interfaces/IAgentInputSource.sol";
import {IUniswapV2Pair} from "../interfaces/IUniswapV2.sol";

/// @title UniswapV2InputSource
/// @notice The input of agents that trade on one Uniswap v2 pair. Per agent it keeps a ring of the
/// pair's cumulative price (quote per base, UQ112x112 times seconds) observed at least
/// `minObservationInterval` seconds apart, by anyone (`observe`) and by every `openTask`. A snapshot
/// holds the time-weighted average price (TWAP) of each of the 16 intervals between the last 17
/// observations, the TWAP over all of them, the pair's reserves, the vault's balances and the
/// block timestamp.
/// @dev Why TWAPs: a cumulative price read in block n holds only prices that stood at the end of
/// earlier blocks (the pair accumulates the price before a block's first trade changes it), so a
/// pump, `openTask` and unwind in one bundle moves nothing the agent or the vault's valuation
/// reads. To move the window's TWAP by x % an attacker must hold the pair x % off through block
/// ends for the whole window, arbitraged at every block, or 16·x % off for one sixteenth of it:
/// see SECURITY.md. The minimum interval keeps anyone calling `observe` in every block from
/// shrinking the window below 16 intervals.
/// Serves one task manager and one pair, both fixed at deployment; every agent of that task
/// manager trading on the pair can use it, each with its own observations.
contract UniswapV2InputSource is IAgentInputSource {
    using SafeCast for uint256;

    /// @notice Number of interval TWAPs in every snapshot's price history.
    uint256 public constant HISTORY_LENGTH = 16;
    /// @notice Observations a snapshot needs: the ends of 16 intervals.
    uint256 public constant OBSERVATIONS = HISTORY_LENGTH + 1;
    /// @dev 1e18 fixed point.
    uint256 private constant WAD = 1e18;
    /// @dev Timestamps packed per storage word, and the words holding an agent's 17.
    uint256 private constant TIMES_PER_WORD = 8;
    uint256 private constant TIME_WORDS = 3;

    /// @dev One slot per agent, read and written whole by `observe` and `snapshot`.
    struct Observations {
        /// @dev Block timestamp of the latest observation (uint32, like the pair's own clock).
        uint32 lastObservedAt;
        /// @dev Number of observations, saturating at `OBSERVATIONS`.
        uint8 observations;
        /// @dev Ring index of the next observation to write.
        uint8 next;
        bool baseIsToken0;
        bool registered;
    }

    /// @inheritdoc IAgentInputSource
    address public immutable taskManager;
    /// @notice The pair whose reserves and cumulative price every agent of this source reads.
    IUniswapV2Pair public immutable pair;
    /// @notice Least number of seconds between two observations of an agent: a snapshot's window is
    /// at least 16 times this long.
    uint32 public immutable minObservationInterval;

    mapping(uint64 agentId => Observations) private _agents;
    /// @dev The cumulative price (quote per base) of each observation, by ring index. Kept whole:
    /// differences are taken modulo 2^256, as the pair's counter wraps.
    mapping(uint64 agentId => uint256[OBSERVATIONS]) private _cumulatives;
    /// @dev Each observation's uint32 timestamp, eight per word (ring index `i` in word `i / 8`).
    mapping(uint64 agentId => uint256[TIME_WORDS]) private _times;

    /// @notice An agent of the task manager was bound to this source's pair.
    event AgentBound(uint64 indexed agentId, address tokenBase, address tokenQuote, bool baseIsToken0);
    /// @notice The pair's cumulative price of base in quote (UQ112x112 times seconds, modulo 2^256) was
    /// recorded for an agent at `timestamp`.
    event CumulativePriceObserved(uint64 indexed agentId, uint256 cumulativePrice, uint32 timestamp);

    /// @notice The base and quote tokens are not the pair's two tokens.
    error TokensNotInPair(address pair, address tokenBase, address tokenQuote);
    /// @notice The agent is already bound to this source.
    error AgentAlreadyRegistered(uint64 agentId);
    /// @notice The agent was observed less than `minObservationInterval` seconds ago; the next
    /// observation is due at `nextAt` (a block timestamp).
    error ObservationTooSoon(uint64 agentId, uint256 nextAt);
    /// @notice Fewer than 17 observations have been recorded for the agent.
    error InsufficientHistory(uint64 agentId, uint256 observations);
    /// @notice The minimum observation interval must be at least one second.
    error InvalidObservationInterval(uint32 interval);

    /// @param taskManager_ The task manager whose agents this source serves.
    /// @param pair_ The Uniswap v2 pair the agents trade on.
    /// @param minObservationInterval_ Least seconds between two observations of an agent (at least
    /// 1). A snapshot's TWAP window is at least 16 times this: size it to the value at stake.
    constructor(address taskManager_, address pair_, uint32 minObservationInterval_) {
        if (minObservationInterval_ == 0) revert InvalidObservationInterval(minObservationInterval_);
        taskManager = taskManager_;
        pair = IUniswapV2Pair(pair_);
        minObservationInterval = minObservationInterval_;
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

    /// @notice Records the pair's cumulative price for an agent. Permissionless; at most once per
    /// `minObservationInterval` seconds (so at most once per block).
    /// @param agentId The agent.
    function observe(uint64 agentId) external {
        Observations memory state = _agents[agentId];
        if (!state.registered) revert UnknownAgent(agentId);
        if (!_due(state)) revert ObservationTooSoon(agentId, _nextAt(state));
        (uint256 cumulative,,) = _cumulativeNow(state.baseIsToken0);
        _record(agentId, state, cumulative);
        _agents[agentId] = state;
    }

    /// @inheritdoc IAgentInputSource
    /// @dev Records an observation first if one is due, then requires 17.
    function snapshot(uint64 agentId, address vault, address tokenBase, address tokenQuote)
        external
        onlyTaskManager
        returns (bytes memory input)
    {
        Observations memory state = _agents[agentId];
        (uint256 cumulative, uint112 reserveBase, uint112 reserveQuote) = _cumulativeNow(state.baseIsToken0);
        if (_due(state)) {
            _record(agentId, state, cumulative);
            _agents[agentId] = state;
        }
        if (state.observations < OBSERVATIONS) revert InsufficientHistory(agentId, state.observations);
        (uint256[] memory history, uint256 twap) = _history(agentId, state);
        return abi.encode(
            AgentInput({
                vault: vault,
                tokenBase: tokenBase,
                tokenQuote: tokenQuote,
                reserveBase: reserveBase,
                reserveQuote: reserveQuote,
                balanceBase: IERC20(tokenBase).balanceOf(vault),
                balanceQuote: IERC20(tokenQuote).balanceOf(vault),
                priceHistory: history,
                twapPrice: twap,
                timestamp: block.timestamp.toUint64()
            })
        );
    }

    /// @inheritdoc IAgentInputSource
    /// @dev The snapshot's `twapPrice`, read from the head of `abi.encode(AgentInput)` (offset word,
    /// vault, tokenBase, tokenQuote, two reserves, two balances, the history's offset, twapPrice)
    /// without decoding the price history.
    function valuation(bytes calldata input)
        external
        pure
        returns (address tokenBase, address tokenQuote, uint256 price)
    {
        (tokenBase, tokenQuote) = abi.decode(input[0x40:0x80], (address, address));
        price = abi.decode(input[0x120:0x140], (uint256));
    }

    /// @inheritdoc IAgentInputSource
    /// @dev The average runs from the oldest observation a snapshot would use (the 17th latest, or
    /// the oldest there is) to now; it is 0 without an observation older than this block.
    function currentPrices(uint64 agentId) external view returns (uint256 spot, uint256 twap) {
        Observations memory state = _agents[agentId];
        if (!state.registered) revert UnknownAgent(agentId);
        (uint256 cumulative, uint112 reserveBase, uint112 reserveQuote) = _cumulativeNow(state.baseIsToken0);
        if (reserveBase != 0) spot = Math.mulDiv(reserveQuote, WAD, reserveBase);
        if (state.observations == 0) return (spot, 0);
        uint256 oldest = state.observations < OBSERVATIONS ? 0 : state.next;
        twap = _average(_cumulatives[agentId][oldest], _timeAt(agentId, oldest), cumulative, _now32());
    }

    /// @inheritdoc IAgentInputSource
    /// @dev Counts one block per missing observation: exact when blocks are at least
    /// `minObservationInterval` seconds apart, an earliest bound otherwise. The snapshot itself
    /// records one if due.
    function readyAt(uint64 agentId) external view returns (uint256 fromBlock) {
        Observations memory state = _agents[agentId];
        if (!state.registered) revert UnknownAgent(agentId);
        uint256 available = uint256(state.observations) + (_due(state) ? 1 : 0);
        if (available >= OBSERVATIONS) return block.number;
        return block.number + OBSERVATIONS - available;
    }

    /// @notice The agent's interval TWAPs (quote per base, 1e18), oldest first: up to 16, one fewer
    /// than its observations.
    function priceHistory(uint64 agentId) external view returns (uint256[] memory history) {
        (history,) = _history(agentId, _agents[agentId]);
    }

    /// @notice The timestamp of the agent's latest observation (0 if none) and how many it has,
    /// saturating at 17.
    function observationStatus(uint64 agentId)
        external
        view
        returns (uint32 lastObservedAt, uint8 observations)
    {
        Observations memory state = _agents[agentId];
        return (state.lastObservedAt, state.observations);
    }

    /// @dev The pair's cumulative price of base in quote brought up to this block's timestamp, as the
    /// pair's own `_update` would: the stored counter plus the current reserves' price for the seconds
    /// since the pair's last update (none within the block of a trade, whose counter already holds
    /// the time up to it, priced at the reserves before it). Returns the reserves too.
    function _cumulativeNow(bool baseIsToken0)
        private
        view
        returns (uint256 cumulative, uint112 reserveBase, uint112 reserveQuote)
    {
        (uint112 reserve0, uint112 reserve1, uint32 updatedAt) = pair.getReserves();
        (reserveBase, reserveQuote) = baseIsToken0 ? (reserve0, reserve1) : (reserve1, reserve0);
        cumulative = baseIsToken0 ? pair.price0CumulativeLast() : pair.price1CumulativeLast();
        // The pair's clock and counter wrap by design: the elapsed time is taken modulo 2^32 and the
        // counter grows modulo 2^256, exactly as the pair computes them.
        unchecked {
            uint32 elapsed = _now32() - updatedAt;
            if (elapsed != 0 && reserveBase != 0 && reserveQuote != 0) {
                cumulative += ((uint256(reserveQuote) << 112) / reserveBase) * elapsed;
            }
        }
    }

    /// @dev The average of base in quote, 1e18 fixed point, between two observations: the
    /// cumulative difference (modulo 2^256) over the seconds between them (modulo 2^32), divided by
    /// 2^112. Zero for no time elapsed.
    function _average(uint256 fromCumulative, uint32 fromTime, uint256 toCumulative, uint32 toTime)
        private
        pure
        returns (uint256)
    {
        unchecked {
            uint256 elapsed = uint32(toTime - fromTime);
            if (elapsed == 0) return 0;
            return Math.mulDiv(toCumulative - fromCumulative, WAD, elapsed << 112);
        }
    }

    function _due(Observations memory state) private view returns (bool) {
        return state.observations == 0 || block.timestamp >= _nextAt(state);
    }

    function _nextAt(Observations memory state) private view returns (uint256) {
        return uint256(state.lastObservedAt) + minObservationInterval;
    }

    function _now32() private view returns (uint32) {
        return block.timestamp.toUint32();
    }

    /// @dev Appends the observation to the agent's ring and updates `state` in memory; the caller
    /// writes it back.
    function _record(uint64 agentId, Observations memory state, uint256 cumulative) private {
        uint32 timestamp = _now32();
        uint256 index = state.next;
        _cumulatives[agentId][index] = cumulative;
        uint256 shift = (index % TIMES_PER_WORD) * 32;
        uint256[TIME_WORDS] storage words = _times[agentId];
        uint256 word = index / TIMES_PER_WORD;
        words[word] = (words[word] & ~(uint256(type(uint32).max) << shift)) | (uint256(timestamp) << shift);
        // The index is taken modulo 17, so it fits.
        // forge-lint: disable-next-line(unsafe-typecast)
        state.next = uint8((index + 1) % OBSERVATIONS);
        if (state.observations < OBSERVATIONS) ++state.observations;
        state.lastObservedAt = timestamp;
        emit CumulativePriceObserved(agentId, cumulative, timestamp);
    }

    function _timeAt(uint64 agentId, uint256 index) private view returns (uint32) {
        return _unpackTime(_times[agentId][index / TIMES_PER_WORD], index);
    }

    /// @dev The TWAPs of the intervals between successive recorded observations, oldest first (once
    /// the ring is full the oldest observation is at `next`), and the TWAP from the first to the last.
    function _history(uint64 agentId, Observations memory state)
        private
        view
        returns (uint256[] memory history, uint256 twap)
    {
        uint256 count = state.observations;
        if (count < 2) return (new uint256[](0), 0);
        uint256 start = count < OBSERVATIONS ? 0 : state.next;
        uint256[OBSERVATIONS] storage cumulatives = _cumulatives[agentId];
        uint256[TIME_WORDS] memory words = _times[agentId];
        history = new uint256[](count - 1);
        uint256 firstCumulative = cumulatives[start];
        uint32 firstTime = _unpackTime(words[start / TIMES_PER_WORD], start);
        uint256 previousCumulative = firstCumulative;
        uint32 previousTime = firstTime;
        for (uint256 i = 1; i < count; ++i) {
            uint256 index = (start + i) % OBSERVATIONS;
            uint256 cumulative = cumulatives[index];
            uint32 time = _unpackTime(words[index / TIMES_PER_WORD], index);
            history[i - 1] = _average(previousCumulative, previousTime, cumulative, time);
            (previousCumulative, previousTime) = (cumulative, time);
        }
        twap = _average(firstCumulative, firstTime, previousCumulative, previousTime);
    }

    /// @dev The timestamp at ring index `index` from the word holding it.
    function _unpackTime(uint256 word, uint256 index) private pure returns (uint32) {
        // A packed uint32 field.
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint32(word >> ((index % TIMES_PER_WORD) * 32));
    }
}
