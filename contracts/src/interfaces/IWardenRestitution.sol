// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.27;

/// @title IWardenRestitution
/// @notice The redistribution recipient of Warden's operator set: EigenLayer sends it the stake it
/// slashes from Warden's operators, and it pays each robbed vault back, up to the loss a fraud proof
/// established, from the stake slashed for that task. What a task's slashes bring beyond its vault's
/// loss is split between the challenger that proved the fraud (`surplusChallengerBps`) and EigenLayer's
/// burn address. Every step is a permissionless call.
interface IWardenRestitution {
    /// @notice EigenLayer's redistributable shares of slash `slashId` (for task `taskId`) were cleared
    /// to this contract, which received `amount` of the task's base token.
    event SlashCleared(uint256 indexed slashId, uint64 indexed taskId, uint256 amount);
    /// @notice `amount` of the task's slashed stake repaid its vault, which has now been repaid
    /// `totalRepaid` of its proven loss.
    event VaultRepaid(uint64 indexed taskId, address indexed vault, uint256 amount, uint256 totalRepaid);
    /// @notice A task's slashed stake beyond its vault's loss: `toChallenger` went to the challenger
    /// that proved the fraud, `burned` to EigenLayer's burn address.
    event SurplusDistributed(
        uint64 indexed taskId, address indexed challenger, uint256 toChallenger, uint256 burned
    );

    /// @notice No Warden slash has this id.
    error UnknownSlash(uint256 slashId);
    /// @notice This slash's shares were already cleared through this contract.
    error SlashAlreadyCleared(uint256 slashId);
    /// @notice The surplus share is above 10_000 basis points.
    error InvalidSurplusShare(uint16 bps);

    /// @notice Clears slash `slashId`'s redistributable shares from EigenLayer to this contract,
    /// credits what arrives to the slash's task, then settles the task (see `settle`). Permissionless.
    /// @return amount Base token received.
    function clearSlash(uint256 slashId) external returns (uint256 amount);

    /// @notice Pays the task's vault what its credit can of its proven loss, and once the loss can no
    /// longer grow (the task was proved fraudulent, or can no longer be), distributes what is left of
    /// the credit. Permissionless; `clearSlash` does it too.
    function settle(uint64 taskId) external;

    /// @notice The task manager whose tasks' losses this contract repays.
    function taskManager() external view returns (address);

    /// @notice Share of a task's surplus paid to the challenger that proved its fraud, in basis points.
    function surplusChallengerBps() external view returns (uint16);

    /// @notice A task's slashed stake received and not yet paid out, and what its vault was repaid.
    function claimOf(uint64 taskId) external view returns (uint256 credit, uint256 repaid);

    /// @notice Whether slash `slashId` was cleared through this contract.
    function slashCleared(uint256 slashId) external view returns (bool);
}
