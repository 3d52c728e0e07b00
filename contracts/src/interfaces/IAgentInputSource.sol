// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.27;

/// @title IAgentInputSource
/// @notice Where an agent's input snapshot comes from: one implementation per kind of input (today
/// a Uniswap v2 pair's reserves and price history, `UniswapV2InputSource`). The task manager calls it
/// to bind an agent at registration, to take the snapshot a task is opened on (whose hash operators
/// sign), and to read back from a snapshot the prices the vault values the action at. The task
/// lifecycle knows nothing else about the input's shape.
/// @dev Like the verifier, the input source is part of the agent its vault's owner registers: the
/// snapshot it takes is what the agent decides on, and the prices it reads back bound the action.
interface IAgentInputSource {
    /// @notice The caller is not the task manager this source serves.
    error NotTaskManager(address caller);
    /// @notice The source has no agent with this id.
    error UnknownAgent(uint64 agentId);

    /// @notice The only task manager whose agents this source serves.
    function taskManager() external view returns (address);

    /// @notice Binds a newly registered agent. Reverts if the source cannot produce input for the
    /// agent's tokens. Only the task manager, from `registerAgent`.
    /// @param agentId The new agent.
    /// @param tokenBase The token the agent's actions are valued in.
    /// @param tokenQuote The agent's other token.
    function registerAgent(uint64 agentId, address tokenBase, address tokenQuote) external;

    /// @notice Takes the input snapshot of a task opened now. Only the task manager, from `openTask`.
    /// @param agentId The agent.
    /// @param vault The agent's vault, whose balances the snapshot may hold.
    /// @param tokenBase The agent's base token.
    /// @param tokenQuote The agent's quote token.
    /// @return input The encoded snapshot; `keccak256(input)` is the task's input hash.
    function snapshot(uint64 agentId, address vault, address tokenBase, address tokenQuote)
        external
        returns (bytes memory input);

    /// @notice The price a snapshot taken by this source values an action at: its base and quote
    /// tokens and a price of base in quote (1e18 fixed point; 0 means no price) that no trade in the
    /// snapshot's block could move. Only meaningful for a snapshot this source produced.
    function valuation(bytes calldata input)
        external
        view
        returns (address tokenBase, address tokenQuote, uint256 price);

    /// @notice The agent's market now, for a check at execution: the spot price (what a trade in this
    /// block gets) and the time-weighted average price over the agent's observation window up to now,
    /// both quote per base, 1e18 fixed point (0 means no price). A spot far from the average means
    /// someone holds the price off, e.g. a front-run of the execution.
    function currentPrices(uint64 agentId) external view returns (uint256 spot, uint256 twap);

    /// @notice The first block from which a snapshot of the agent can be taken: the current block if
    /// now, otherwise the earliest the source's own preconditions (e.g. a price history) can be met.
    function readyAt(uint64 agentId) external view returns (uint256 fromBlock);
}
