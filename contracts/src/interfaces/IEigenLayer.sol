// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.27;

/// @dev The subset of EigenLayer core that Warden calls or implements, at the ABI of v1.5.0
/// ("Redistribution") and later: redistributing operator sets, and `slashOperator` returning the
/// slash id and the shares it took. Signatures match the deployed bytecode shipped by newton-utils.

/// @notice An operator set is identified by the AVS address and an id chosen by the AVS.
struct OperatorSet {
    address avs;
    uint32 id;
}

/// @notice Parameters of `IAllocationManager.createOperatorSets`.
struct CreateSetParams {
    uint32 operatorSetId;
    address[] strategies;
}

/// @notice Parameters of `IAllocationManager.slashOperator`.
struct SlashingParams {
    address operator;
    uint32 operatorSetId;
    address[] strategies;
    uint256[] wadsToSlash;
    string description;
}

/// @notice Parameters of `IAllocationManager.deregisterFromOperatorSets`.
struct DeregisterParams {
    address operator;
    address avs;
    uint32[] operatorSetIds;
}

interface IAllocationManager {
    function updateAVSMetadataURI(address avs, string calldata metadataURI) external;
    function setAVSRegistrar(address avs, address registrar) external;
    function createOperatorSets(address avs, CreateSetParams[] calldata params) external;
    /// @notice Creates operator sets whose slashed stake goes to `redistributionRecipients[i]`
    /// (fixed for good) instead of being burned.
    function createRedistributingOperatorSets(
        address avs,
        CreateSetParams[] calldata params,
        address[] calldata redistributionRecipients
    ) external;
    /// @notice Slashes the operator; returns the set's slash id (counting from 1) and, per strategy,
    /// the shares taken (the operator's and its stakers' queued withdrawals'), which
    /// `StrategyManager.clearBurnOrRedistributableShares` later pays out.
    function slashOperator(address avs, SlashingParams calldata params)
        external
        returns (uint256 slashId, uint256[] memory shares);
    function getRedistributionRecipient(OperatorSet calldata operatorSet) external view returns (address);
    function isRedistributingOperatorSet(OperatorSet calldata operatorSet) external view returns (bool);
    function getStrategiesInOperatorSet(OperatorSet calldata operatorSet)
        external
        view
        returns (address[] memory);
    function getMinimumSlashableStake(
        OperatorSet calldata operatorSet,
        address[] calldata operators,
        address[] calldata strategies,
        uint32 futureBlock
    ) external view returns (uint256[][] memory slashableStake);
    function isMemberOfOperatorSet(address operator, OperatorSet calldata operatorSet)
        external
        view
        returns (bool);
    function deregisterFromOperatorSets(DeregisterParams calldata params) external;
    function DEALLOCATION_DELAY() external view returns (uint32);
    function delegation() external view returns (IDelegationManager);
}

/// @notice The DelegationManager's withdrawal delay: queued withdrawals stay slashable for this many
/// blocks after they are queued.
interface IDelegationManager {
    function minWithdrawalDelayBlocks() external view returns (uint32);
}

/// @notice The callback interface EigenLayer's AllocationManager calls on an AVS's registrar.
interface IAVSRegistrar {
    function registerOperator(
        address operator,
        address avs,
        uint32[] calldata operatorSetIds,
        bytes calldata data
    ) external;
    function deregisterOperator(address operator, address avs, uint32[] calldata operatorSetIds) external;
    function supportsAVS(address avs) external view returns (bool);
}

/// @notice What EigenLayer's StrategyManager requires of a deposit strategy.
interface IStrategy {
    function deposit(address token, uint256 amount) external returns (uint256);
    /// @dev Returns the tokens sent: the StrategyManager reports them when it clears slashed shares.
    function withdraw(address recipient, address token, uint256 amountShares) external returns (uint256);
    function sharesToUnderlying(uint256 amountShares) external returns (uint256);
    function underlyingToShares(uint256 amountUnderlying) external returns (uint256);
    function userUnderlying(address user) external returns (uint256);
    function shares(address user) external view returns (uint256);
    function sharesToUnderlyingView(uint256 amountShares) external view returns (uint256);
    function underlyingToSharesView(uint256 amountUnderlying) external view returns (uint256);
    function userUnderlyingView(address user) external view returns (uint256);
    function underlyingToken() external view returns (address);
    function totalShares() external view returns (uint256);
    function explanation() external view returns (string memory);
}

/// @notice What EigenLayer's pausable contracts require of their pauser registry.
interface IPauserRegistry {
    function isPauser(address pauser) external view returns (bool);
    function unpauser() external view returns (address);
}
