// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.27;

import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {IAllocationManager, OperatorSet} from "./IEigenLayer.sol";
import {OperatorDirectedRewardsSubmission} from "./IEigenLayerRewards.sol";

/// @notice The registry's fixed parameters: who may join, how large the set may grow, and how the
/// weight that signs is kept to stake that stays slashable.
/// @param minimumWeight Least weight an operator needs to join, and below which anyone may eject it.
/// @param maxOperators Most operators the set may hold at once (bounds every refresh and commitment).
/// @param weightHorizon Blocks ahead at which an operator's slashable stake is measured: a deallocation
/// that takes effect within the horizon does not count. At most EigenLayer's DEALLOCATION_DELAY and the
/// DelegationManager's minimum withdrawal delay, so stake counted at a refresh stays slashable for the
/// horizon whatever the operator does afterwards.
/// @param maxWeightAge Oldest (in blocks before a reference block) a full refresh of the weights may be
/// for a quorum at that block to count; below `weightHorizon`.
/// @param ejectionLimit Most ejections per `ejectionWindow` blocks.
/// @param ejectionWindow Length in blocks of the window `ejectionLimit` applies to.
struct RegistryParams {
    uint96 minimumWeight;
    uint32 maxOperators;
    uint32 weightHorizon;
    uint32 maxWeightAge;
    uint32 ejectionLimit;
    uint32 ejectionWindow;
}

/// @title IWardenRegistry
/// @notice What the task lifecycle and the challenges contract need of Warden's operator registry:
/// the quorum check against the operator set at a reference block, the operator history that tells
/// signers from non-signers, and slashing through Warden's AVS identity in EigenLayer.
interface IWardenRegistry {
    /// @notice The set's weights at `referenceBlock` were last refreshed in full at `refreshedAt` (zero:
    /// never, or voided by a slash since), more than `maxWeightAge` blocks before it: they may count
    /// stake that has left.
    error StaleWeights(uint32 referenceBlock, uint32 refreshedAt, uint32 maxWeightAge);

    /// @notice EigenLayer's AllocationManager the registry is the AVS of.
    function allocationManager() external view returns (IAllocationManager);

    /// @notice The one contract allowed to slash through the registry (zero until set, then fixed).
    function slasher() external view returns (address);

    /// @notice The strategies of Warden's operator set, in the set's order.
    function strategies() external view returns (address[] memory);

    /// @notice How many operators have ever registered (the length of the operator id list).
    function operatorIdCount() external view returns (uint256);

    /// @notice The `index`-th operator id ever registered (reverts past the end).
    function operatorIds(uint256 index) external view returns (bytes32);

    /// @notice The operator address that owns an operator id (zero if none).
    function operatorOf(bytes32 operatorId) external view returns (address);

    /// @notice Whether the operator was in the set at `blockNumber`, and its weight then.
    function operatorAt(bytes32 operatorId, uint32 blockNumber) external view returns (bool, uint96);

    /// @notice The `index`-th operator ever registered: its id, its address, and whether it was in
    /// the set at `blockNumber`. One call for what slashing examines per operator.
    function operatorAtIndex(uint256 index, uint32 blockNumber)
        external
        view
        returns (bytes32 operatorId, address operator, bool registered);

    /// @notice Verifies `signature` over `digest` by every operator registered at `referenceBlock`
    /// except `nonSigners` (sorted by operator id, strictly ascending) and returns the weight that
    /// signed and the set's total weight then. Reverts on any malformed input or invalid signature, and
    /// with `StaleWeights` when the weights then were refreshed too long before.
    function checkQuorum(
        uint32 referenceBlock,
        bytes32 digest,
        BLS.G1Point[] calldata nonSigners,
        BLS.G2Point calldata signature
    ) external view returns (uint256 signedWeight, uint256 totalWeight);

    /// @notice The set's aggregate public key, total weight and size at `blockNumber`.
    function quorumAt(uint32 blockNumber)
        external
        view
        returns (BLS.G1Point memory aggregateKey, uint96 totalWeight, uint32 operatorCount);

    /// @notice The operator set at `blockNumber` in one call: the id, address, public key and weight of
    /// every operator registered then (in order of first registration), the set's total weight, and
    /// `changedAt`, the latest block at or before `blockNumber` in which the set or a weight changed. A
    /// reader may keep a set it read while `setChangedAt` still reports the same block. Reverts with
    /// `NoOperatorSetAtBlock` before the first registration.
    function operatorSetAt(uint32 blockNumber)
        external
        view
        returns (
            bytes32[] memory ids,
            address[] memory operators,
            BLS.G1Point[] memory publicKeys,
            uint96[] memory weights,
            uint256 totalWeight,
            uint32 changedAt
        );

    /// @notice The latest block at or before `blockNumber` in which an operator joined or left the set
    /// or a weight changed (a refresh that changed no weight does not count). Reverts with
    /// `NoOperatorSetAtBlock` before the first registration.
    function setChangedAt(uint32 blockNumber) external view returns (uint32);

    /// @notice Blocks ahead at which weights measure slashable stake; every window of a task, plus
    /// `maxWeightAge`, must fit in it.
    function weightHorizon() external view returns (uint32);

    /// @notice Oldest a full refresh of the weights may be, in blocks before a reference block.
    function maxWeightAge() external view returns (uint32);

    /// @notice The block of the last full refresh of the weights in effect at `blockNumber` (0: never,
    /// or a slash of a member voided them since: quorums then are refused until the next refresh).
    function weightsRefreshedAt(uint32 blockNumber) external view returns (uint32);

    /// @notice Re-reads every registered operator's weight from EigenLayer. Permissionless.
    function refreshWeights() external;

    /// @notice Warden's operator set in EigenLayer: (this registry, `OPERATOR_SET_ID`). A slash's
    /// stake is cleared to the recipient with `StrategyManager.clearBurnOrRedistributableShares(
    /// operatorSet(), slashId)`.
    function operatorSet() external view returns (OperatorSet memory);

    /// @notice EigenLayer's StrategyManager, which holds slashed shares until they are cleared.
    function strategyManager() external view returns (address);

    /// @notice Where EigenLayer pays Warden's slashed stake (zero before `configureAVS`).
    function redistributionRecipient() external view returns (address);

    /// @notice Has EigenLayer slash `wadToSlash` of the operator's allocation to Warden's set. Only
    /// the slasher. Returns EigenLayer's id of the slash in Warden's operator set (from 1) and the
    /// shares it took (summed over the set's strategies, queued withdrawals included): zero when the
    /// operator had nothing left to take. The shares reach the redistribution recipient when anyone
    /// clears the slash in the StrategyManager.
    function slashOperator(address operator, uint256 wadToSlash, string calldata description)
        external
        returns (uint256 slashId, uint256 sharesSlashed);

    /// @notice Slashes, as `slashOperator` does, the `index`-th operator ever registered if it was in
    /// the set at `referenceBlock`; does nothing otherwise. One call for what slashing a task's
    /// signers takes per operator: the id list, the membership and the slash. Only the slasher.
    /// @param index Position in the operator id list (reverts past its end).
    /// @param referenceBlock The block whose set decides membership (a task's reference block).
    /// @param wadToSlash Fraction of the allocation to slash, 1e18 = all; EigenLayer requires (0, 1e18].
    /// @param description Recorded by EigenLayer with the slash.
    /// @return operatorId The operator's id.
    /// @return operator The operator's address.
    /// @return member Whether it was in the set at `referenceBlock`: only then is it slashed.
    /// @return slashId As `slashOperator` returns it; zero when not a member.
    /// @return sharesSlashed As `slashOperator` returns it; zero when not a member.
    function slashOperatorAt(
        uint256 index,
        uint32 referenceBlock,
        uint256 wadToSlash,
        string calldata description
    )
        external
        returns (bytes32 operatorId, address operator, bool member, uint256 slashId, uint256 sharesSlashed);

    /// @notice The block of the operator's latest slash through this registry (0: never slashed).
    function lastSlashedAt(address operator) external view returns (uint32);

    /// @notice The one contract allowed to pay operators as Warden's AVS (zero until set, then fixed).
    function rewardsDistributor() external view returns (address);

    /// @notice Submits `submission` to EigenLayer's RewardsCoordinator `coordinator` as Warden's AVS,
    /// pulling its tokens (the sum of its operators' amounts) from the caller. Only the rewards
    /// distributor.
    function submitOperatorRewards(address coordinator, OperatorDirectedRewardsSubmission calldata submission)
        external;
}
