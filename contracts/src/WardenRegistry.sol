// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {
    IAllocationManager,
    IAVSRegistrar,
    OperatorSet,
    CreateSetParams,
    DeregisterParams,
    SlashingParams
} from "./interfaces/IEigenLayer.sol";
import {IRewardsCoordinator, OperatorDirectedRewardsSubmission} from "./interfaces/IEigenLayerRewards.sol";
import {IAllocationManagerSlashing, IDelegationManagerSlashing} from "./interfaces/IEigenLayerSlashing.sol";
import {IWardenRegistry, RegistryParams} from "./interfaces/IWardenRegistry.sol";
import {AddressSort} from "./libraries/AddressSort.sol";
import {BLS12381} from "./libraries/BLS12381.sol";
import {WardenDigests} from "./libraries/WardenDigests.sol";

/// @title WardenRegistry
/// @notice Warden's AVS identity in EigenLayer and the registrar of its operator set. It keeps each
/// operator's BLS12-381 public key and weight, the aggregate public key and the total weight, all with
/// history by block, and checks a quorum's aggregate signature against the operator set exactly as it
/// was at a task's reference block.
///
/// An operator's weight is the stake EigenLayer will still let Warden slash `weightHorizon` blocks
/// after the weight is read (`getMinimumSlashableStake` at that future block, so a deallocation that
/// takes effect within the horizon does not count, and queued withdrawals have already left the
/// operator's delegated shares). The horizon is at most EigenLayer's deallocation delay and withdrawal
/// delay, so whatever an operator starts after a read, the stake read stays slashable for the horizon.
/// Anyone may refresh every weight (`refreshWeights`); a quorum at a reference block whose weights were
/// refreshed more than `maxWeightAge` blocks before it is refused. Joining takes `minimumWeight`, the
/// set holds at most `maxOperators`, and anyone may eject an operator whose weight fell below the
/// minimum, at most `ejectionLimit` per `ejectionWindow` blocks.
/// @dev Storage is laid out for `checkQuorum`: the latest state of the set and of each operator sits
/// in few slots (one per non-signer), older states are archived and found by binary search only
/// when a reference block predates the latest change.
///
/// As the AVS, this contract is also the only account EigenLayer lets slash Warden's operator set; it
/// lends that power to exactly one contract, the `slasher` (Warden's challenges contract), set once.
contract WardenRegistry is IAVSRegistrar, IWardenRegistry, Ownable2Step, ReentrancyGuardTransient {
    using SafeCast for uint256;
    using SafeERC20 for IERC20;

    /// @notice The id of Warden's operator set in EigenLayer.
    uint32 public constant OPERATOR_SET_ID = 0;

    /// @notice EigenLayer's AllocationManager: the only caller of the registrar callbacks.
    IAllocationManager public immutable allocationManager;
    /// @notice Least weight to join the set; anyone may eject an operator whose weight falls below it.
    uint96 public immutable minimumWeight;
    /// @notice Most operators the set holds at once.
    uint32 public immutable maxOperators;
    /// @inheritdoc IWardenRegistry
    uint32 public immutable weightHorizon;
    /// @inheritdoc IWardenRegistry
    uint32 public immutable maxWeightAge;
    /// @notice Most ejections per `ejectionWindow` blocks.
    uint32 public immutable ejectionLimit;
    /// @notice Length in blocks of an ejection rate-limit window.
    uint32 public immutable ejectionWindow;

    /// @dev The latest state of an operator, with the number of older states archived, and the block
    /// of its latest slash (not archived: only the latest is ever asked for).
    struct OperatorState {
        uint32 fromBlock;
        uint32 archived;
        bool registered;
        uint96 weight;
        uint32 lastSlashedAt;
    }

    /// @dev An archived operator state, valid from `fromBlock` until the next one.
    struct OperatorCheckpoint {
        uint32 fromBlock;
        bool registered;
        uint96 weight;
    }

    /// @dev A G1 point in three slots: the two 16-byte high parts share one word.
    struct PackedG1 {
        bytes32 high;
        bytes32 xLow;
        bytes32 yLow;
    }

    /// @dev The latest state of the whole set, with the number of older states archived.
    struct QuorumState {
        uint32 fromBlock;
        uint32 archived;
        uint32 operatorCount;
        uint96 totalWeight;
        uint32 weightsRefreshedAt;
        /// @dev The latest block at or before `fromBlock` in which the set or a weight changed (a
        /// refresh that changed no weight leaves it).
        uint32 changedAt;
    }

    /// @dev An archived state of the whole set.
    struct QuorumCheckpoint {
        uint32 fromBlock;
        uint32 operatorCount;
        uint96 totalWeight;
        uint32 weightsRefreshedAt;
        uint32 changedAt;
        PackedG1 aggregateKey;
    }

    /// @dev Ejections in the current rate-limit window.
    struct EjectionWindow {
        uint32 start;
        uint32 count;
    }

    /// @dev Transient storage of `_slashingStrategies`: a slot no Solidity variable occupies
    /// (transient storage has no variables of its own in this contract).
    bytes32 private constant _SLASHING_STRATEGIES_SLOT = keccak256("warden.registry.slashingStrategies");

    /// @notice Operator id (keccak256 of the EIP-2537 public key) bound to each operator address.
    mapping(address operator => bytes32 operatorId) public operatorIdOf;
    /// @notice The operator address that owns each public key.
    mapping(bytes32 operatorId => address operator) public operatorOf;
    /// @notice Every operator id ever registered, in order of first registration.
    bytes32[] public operatorIds;

    mapping(bytes32 operatorId => PackedG1) private _publicKeys;
    mapping(bytes32 operatorId => OperatorState) private _operators;
    mapping(bytes32 operatorId => mapping(uint256 index => OperatorCheckpoint)) private _operatorArchive;

    QuorumState private _quorum;
    PackedG1 private _aggregateKey;
    mapping(uint256 index => QuorumCheckpoint) private _quorumArchive;

    EjectionWindow private _ejections;

    /// @notice The one contract allowed to slash operators through this registry (Warden's challenges
    /// contract); zero until the owner sets it.
    address public slasher;

    /// @inheritdoc IWardenRegistry
    address public rewardsDistributor;

    /// @notice Emitted when the owner sets up Warden's AVS and its redistributing operator set in
    /// EigenLayer; slashed stake goes to `redistributionRecipient`, for good.
    event AVSConfigured(string metadataURI, address[] strategies, address indexed redistributionRecipient);
    /// @notice Emitted when an operator joins the set with its BLS key.
    event OperatorRegistered(
        address indexed operator, bytes32 indexed operatorId, BLS.G1Point publicKey, uint256 weight
    );
    /// @notice Emitted when an operator leaves the set.
    event OperatorDeregistered(address indexed operator, bytes32 indexed operatorId);
    /// @notice Emitted when an operator's weight is refreshed from EigenLayer.
    event OperatorWeightUpdated(
        address indexed operator, bytes32 indexed operatorId, uint256 oldWeight, uint256 newWeight
    );
    /// @notice Emitted when every registered operator's weight has been re-read from EigenLayer.
    event WeightsRefreshed(uint32 indexed blockNumber, uint256 operatorCount, uint256 totalWeight);
    /// @notice Emitted when an operator below the minimum weight is ejected (EigenLayer then calls back
    /// `deregisterOperator`, which emits `OperatorDeregistered`).
    event OperatorEjected(
        address indexed operator, bytes32 indexed operatorId, address indexed by, uint256 weight
    );
    /// @notice Emitted once, when the owner names the contract allowed to slash.
    event SlasherSet(address indexed slasher);
    /// @notice Emitted once, when the owner names the contract that pays Warden's operators.
    event RewardsDistributorSet(address indexed rewardsDistributor);
    /// @notice Emitted when the rewards distributor had `total` of `token` submitted to `coordinator`
    /// as Warden's operator-directed rewards.
    event OperatorRewardsSubmitted(address indexed coordinator, address indexed token, uint256 total);
    /// @notice Emitted when the slasher has had EigenLayer slash `wadToSlash` of the operator's
    /// allocation to Warden's set, in every strategy of the set: EigenLayer's slash `slashId` took
    /// `shares` (summed over the strategies), redistributable once cleared. If the operator was still
    /// in the set, the weights are void from this block until the next `WeightsRefreshed`. The slash's
    /// description is in EigenLayer's own `OperatorSlashed` event, emitted with it.
    event OperatorSlashed(
        address indexed operator,
        bytes32 indexed operatorId,
        uint256 indexed slashId,
        uint256 wadToSlash,
        uint256 shares
    );

    /// @notice A registrar callback came from someone other than the AllocationManager.
    error NotAllocationManager(address caller);
    /// @notice The callback names an AVS other than this one.
    error UnsupportedAVS(address avs);
    /// @notice The callback names operator sets other than exactly Warden's one.
    error UnsupportedOperatorSets();
    /// @notice Registration data is not abi.encode(G1 public key, G2 proof of possession).
    error MalformedRegistrationData(uint256 length);
    /// @notice The public key is the point at infinity.
    error InfinityPublicKey();
    /// @notice The public key already belongs to another operator.
    error PublicKeyAlreadyRegistered(bytes32 operatorId, address owner);
    /// @notice The operator registered before with a different key; keys are bound for life.
    error PublicKeyMismatch(bytes32 registered, bytes32 presented);
    /// @notice The proof of possession does not verify.
    error InvalidProofOfPossession();
    /// @notice The operator is not in the set.
    error OperatorNotRegistered(address operator);
    /// @notice A quorum check needs a reference block strictly in the past.
    error ReferenceBlockNotInPast(uint32 referenceBlock, uint256 currentBlock);
    /// @notice No operator had registered at the reference block.
    error NoOperatorSetAtBlock(uint32 referenceBlock);
    /// @notice Non-signers must be sorted by operator id, strictly ascending (so also unique).
    error NonSignersNotSorted(uint256 index);
    /// @notice A non-signer was not in the set at the reference block.
    error NonSignerNotRegistered(bytes32 operatorId, uint32 referenceBlock);
    /// @notice The aggregate signature is the point at infinity.
    error InfinitySignature();
    /// @notice The signers' aggregate key is the point at infinity.
    error InfinityAggregateKey();
    /// @notice The aggregate signature does not verify against the signers' aggregate key.
    error InvalidSignature();
    /// @notice The slasher is set once; it is already `slasher`.
    error SlasherAlreadySet(address slasher);
    /// @notice The slasher cannot be the zero address.
    error InvalidSlasher();
    /// @notice Slashed stake must go somewhere: the redistribution recipient cannot be the zero address.
    error InvalidRedistributionRecipient();
    /// @notice Only the slasher may slash.
    error NotSlasher(address caller);
    /// @notice The rewards distributor is set once; it is already `rewardsDistributor`.
    error RewardsDistributorAlreadySet(address rewardsDistributor);
    /// @notice The rewards distributor cannot be the zero address.
    error InvalidRewardsDistributor();
    /// @notice Only the rewards distributor may submit rewards as Warden's AVS.
    error NotRewardsDistributor(address caller);
    /// @notice The operator never registered with Warden, so Warden has nothing to slash it for.
    error UnknownOperator(address operator);
    /// @notice The operator's weight is below the minimum to join.
    error WeightBelowMinimum(address operator, uint256 weight, uint256 minimum);
    /// @notice The set already holds `maxOperators` operators.
    error OperatorSetFull(uint32 maxOperators);
    /// @notice The operator's weight is not below the minimum: it may not be ejected.
    error WeightNotBelowMinimum(address operator, uint256 weight, uint256 minimum);
    /// @notice The ejection limit of the current window is reached; the next window opens at `nextWindow`.
    error EjectionRateLimited(uint256 nextWindow);
    /// @notice `minimumWeight`, `maxOperators`, `weightHorizon`, `ejectionLimit` and `ejectionWindow`
    /// must be non-zero.
    error ZeroParameter();
    /// @notice The weight horizon exceeds what EigenLayer keeps slashable after a read: its deallocation
    /// delay or its withdrawal delay (`limit`, the smaller).
    error WeightHorizonTooLong(uint32 weightHorizon, uint32 limit);
    /// @notice The weights' maximum age must be below the weight horizon.
    error MaxWeightAgeTooLong(uint32 maxWeightAge, uint32 weightHorizon);

    modifier onlyAllocationManager() {
        if (msg.sender != address(allocationManager)) revert NotAllocationManager(msg.sender);
        _;
    }

    /// @param allocationManager_ EigenLayer's AllocationManager (proxy).
    /// @param owner_ May configure the AVS in EigenLayer.
    /// @param params Minimum weight, set size, weight horizon and age, ejection rate limit; see
    /// `RegistryParams`. The horizon is checked against the delays of this EigenLayer deployment.
    constructor(IAllocationManager allocationManager_, address owner_, RegistryParams memory params)
        Ownable(owner_)
    {
        if (
            params.minimumWeight == 0 || params.maxOperators == 0 || params.weightHorizon == 0
                || params.ejectionLimit == 0 || params.ejectionWindow == 0
        ) revert ZeroParameter();
        uint32 limit = allocationManager_.DEALLOCATION_DELAY();
        uint32 withdrawalDelay = allocationManager_.delegation().minWithdrawalDelayBlocks();
        if (withdrawalDelay < limit) limit = withdrawalDelay;
        if (params.weightHorizon > limit) revert WeightHorizonTooLong(params.weightHorizon, limit);
        if (params.maxWeightAge >= params.weightHorizon) {
            revert MaxWeightAgeTooLong(params.maxWeightAge, params.weightHorizon);
        }
        allocationManager = allocationManager_;
        minimumWeight = params.minimumWeight;
        maxOperators = params.maxOperators;
        weightHorizon = params.weightHorizon;
        maxWeightAge = params.maxWeightAge;
        ejectionLimit = params.ejectionLimit;
        ejectionWindow = params.ejectionWindow;
    }

    // ------------------------------------------------------------------------------------------
    // AVS set-up
    // ------------------------------------------------------------------------------------------

    /// @notice Makes this contract an AVS in EigenLayer, its own registrar, and creates Warden's
    /// operator set over `strategies` as a redistributing set: stake slashed from it is paid to
    /// `recipient` (when anyone clears the slash in the StrategyManager) instead of
    /// being burned. EigenLayer fixes the recipient for the set's life and creates the set once, so
    /// this can succeed only once. EigenLayer requires the metadata URI to be set first.
    /// @param metadataURI The AVS metadata URI announced to EigenLayer.
    /// @param strategies_ Strategies whose slashable stake makes an operator's weight; EigenLayer
    /// refuses beacon-chain ETH and EIGEN in a redistributing set.
    /// @param recipient Where slashed stake goes: Warden's restitution contract.
    function configureAVS(string calldata metadataURI, address[] calldata strategies_, address recipient)
        external
        onlyOwner
    {
        if (recipient == address(0)) revert InvalidRedistributionRecipient();
        emit AVSConfigured(metadataURI, strategies_, recipient);
        allocationManager.updateAVSMetadataURI(address(this), metadataURI);
        allocationManager.setAVSRegistrar(address(this), address(this));
        CreateSetParams[] memory sets = new CreateSetParams[](1);
        sets[0] = CreateSetParams({operatorSetId: OPERATOR_SET_ID, strategies: strategies_});
        address[] memory recipients = new address[](1);
        recipients[0] = recipient;
        allocationManager.createRedistributingOperatorSets(address(this), sets, recipients);
    }

    /// @notice Names the one contract allowed to slash through this registry. Set once: a slasher that
    /// could be replaced would let the owner slash at will through a contract of its choosing.
    /// @param slasher_ Warden's challenges contract (`WardenTaskManager.challenges()`).
    function setSlasher(address slasher_) external onlyOwner {
        if (slasher_ == address(0)) revert InvalidSlasher();
        address current = slasher;
        if (current != address(0)) revert SlasherAlreadySet(current);
        slasher = slasher_;
        emit SlasherSet(slasher_);
    }

    /// @notice Names the one contract allowed to pay operators as Warden's AVS in EigenLayer's
    /// RewardsCoordinator, which takes an AVS's submissions only from the AVS itself. Set once, like the
    /// slasher.
    /// @param rewardsDistributor_ Warden's rewards contract (`WardenRewards`).
    function setRewardsDistributor(address rewardsDistributor_) external onlyOwner {
        if (rewardsDistributor_ == address(0)) revert InvalidRewardsDistributor();
        address current = rewardsDistributor;
        if (current != address(0)) revert RewardsDistributorAlreadySet(current);
        rewardsDistributor = rewardsDistributor_;
        emit RewardsDistributorSet(rewardsDistributor_);
    }

    /// @inheritdoc IWardenRegistry
    /// @dev The registry holds the tokens only within this call: the coordinator pulls all it approves.
    function submitOperatorRewards(address coordinator, OperatorDirectedRewardsSubmission calldata submission)
        external
        nonReentrant
    {
        if (msg.sender != rewardsDistributor) revert NotRewardsDistributor(msg.sender);
        uint256 total;
        for (uint256 i; i < submission.operatorRewards.length; ++i) {
            total += submission.operatorRewards[i].amount;
        }
        emit OperatorRewardsSubmitted(coordinator, submission.token, total);
        IERC20 token = IERC20(submission.token);
        token.safeTransferFrom(msg.sender, address(this), total);
        token.forceApprove(coordinator, total);
        OperatorDirectedRewardsSubmission[] memory submissions = new OperatorDirectedRewardsSubmission[](1);
        submissions[0] = submission;
        IRewardsCoordinator(coordinator)
            .createOperatorDirectedAVSRewardsSubmission(address(this), submissions);
    }

    /// @inheritdoc IAVSRegistrar
    function supportsAVS(address avs) external view returns (bool) {
        return avs == address(this);
    }

    // ------------------------------------------------------------------------------------------
    // Registrar callbacks
    // ------------------------------------------------------------------------------------------

    /// @notice Called by EigenLayer when `operator` registers for Warden's operator set.
    /// @param data abi.encode(BLS.G1Point publicKey, BLS.G2Point proofOfPossession), EIP-2537 encoded;
    /// the proof signs `proofOfPossessionMessage(operator, publicKey)`.
    function registerOperator(
        address operator,
        address avs,
        uint32[] calldata operatorSetIds,
        bytes calldata data
    ) external onlyAllocationManager {
        _requireWardenSet(avs, operatorSetIds);
        if (data.length != 0x180) revert MalformedRegistrationData(data.length);
        (BLS.G1Point memory publicKey, BLS.G2Point memory proof) =
            abi.decode(data, (BLS.G1Point, BLS.G2Point));

        bytes32 operatorId = _validatePublicKey(operator, publicKey);
        _verifyProofOfPossession(operator, operatorId, publicKey, proof);

        uint96 weight = _currentWeight(operator, _strategies());
        if (weight < minimumWeight) revert WeightBelowMinimum(operator, weight, minimumWeight);
        QuorumState memory quorum = _quorum;
        if (quorum.operatorCount >= maxOperators) revert OperatorSetFull(maxOperators);
        if (operatorIdOf[operator] == bytes32(0)) {
            operatorIdOf[operator] = operatorId;
            operatorOf[operatorId] = operator;
            operatorIds.push(operatorId);
            _publicKeys[operatorId] = _pack(publicKey);
        }
        _writeOperator(operatorId, true, weight);

        _writeQuorum(
            BLS12381.add(_unpack(_aggregateKey), publicKey),
            quorum.operatorCount + 1,
            quorum.totalWeight + weight,
            quorum.weightsRefreshedAt,
            true
        );
        emit OperatorRegistered(operator, operatorId, publicKey, weight);
    }

    /// @notice Called by EigenLayer when `operator` leaves Warden's operator set, on its own or ejected.
    /// EigenLayer keeps it slashable for its deallocation delay; here it stops counting from this block
    /// on.
    function deregisterOperator(address operator, address avs, uint32[] calldata operatorSetIds)
        external
        onlyAllocationManager
    {
        _requireWardenSet(avs, operatorSetIds);
        bytes32 operatorId = operatorIdOf[operator];
        OperatorState memory state = _operators[operatorId];
        if (operatorId == bytes32(0) || !state.registered) revert OperatorNotRegistered(operator);

        _writeOperator(operatorId, false, 0);
        QuorumState memory quorum = _quorum;
        BLS.G1Point memory withoutOperator =
            BLS12381.add(_unpack(_aggregateKey), BLS12381.negate(_unpack(_publicKeys[operatorId])));
        _writeQuorum(
            withoutOperator,
            quorum.operatorCount - 1,
            quorum.totalWeight - state.weight,
            quorum.weightsRefreshedAt,
            true
        );
        emit OperatorDeregistered(operator, operatorId);
    }

    // ------------------------------------------------------------------------------------------
    // Weights and ejection
    // ------------------------------------------------------------------------------------------

    /// @notice Re-reads every registered operator's weight from EigenLayer (one
    /// `getMinimumSlashableStake` call for the whole set, at `weightHorizon` blocks ahead) and records
    /// this block as the set's last full refresh. Permissionless: the aggregator's keeper calls it on a
    /// schedule, and anyone may, since quorums on weights older than `maxWeightAge` are refused.
    /// @dev Costs three storage reads per member (one per operator that left), plus a write per changed
    /// weight: `maxOperators` bounds it.
    function refreshWeights() external {
        (address[] memory members, bytes32[] memory ids) = _currentMembers();
        uint256 count = members.length;
        uint256[][] memory stakes = allocationManager.getMinimumSlashableStake(
            OperatorSet({avs: address(this), id: OPERATOR_SET_ID}), members, _strategies(), _horizonBlock()
        );
        uint256 totalWeight;
        bool changed;
        for (uint256 i; i < count; ++i) {
            bytes32 operatorId = ids[i];
            uint96 weight = _sum(stakes[i]);
            uint96 oldWeight = _operators[operatorId].weight;
            if (weight != oldWeight) {
                _writeOperator(operatorId, true, weight);
                emit OperatorWeightUpdated(members[i], operatorId, oldWeight, weight);
                changed = true;
            }
            totalWeight += weight;
        }
        uint32 current = uint32(block.number);
        _writeQuorum(_unpack(_aggregateKey), count.toUint32(), totalWeight.toUint96(), current, changed);
        emit WeightsRefreshed(current, count, totalWeight);
    }

    /// @notice Ejects an operator whose weight (read from EigenLayer now, at the horizon) is below
    /// `minimumWeight`: the registry, as the AVS, deregisters it from Warden's set in EigenLayer, which
    /// calls back `deregisterOperator`. Permissionless, at most `ejectionLimit` per `ejectionWindow`
    /// blocks. EigenLayer keeps the ejected operator slashable for its deallocation delay.
    /// @param operator A registered operator.
    function eject(address operator) external nonReentrant {
        bytes32 operatorId = operatorIdOf[operator];
        if (operatorId == bytes32(0) || !_operators[operatorId].registered) {
            revert OperatorNotRegistered(operator);
        }
        uint96 weight = _currentWeight(operator, _strategies());
        if (weight >= minimumWeight) revert WeightNotBelowMinimum(operator, weight, minimumWeight);

        EjectionWindow memory window = _ejections;
        uint32 current = uint32(block.number);
        if (window.count == 0 || current - window.start >= ejectionWindow) {
            window = EjectionWindow({start: current, count: 0});
        }
        if (window.count >= ejectionLimit) {
            revert EjectionRateLimited(uint256(window.start) + ejectionWindow);
        }
        window.count += 1;
        _ejections = window;
        emit OperatorEjected(operator, operatorId, msg.sender, weight);

        uint32[] memory sets = new uint32[](1);
        sets[0] = OPERATOR_SET_ID;
        allocationManager.deregisterFromOperatorSets(
            DeregisterParams({operator: operator, avs: address(this), operatorSetIds: sets})
        );
    }

    // ------------------------------------------------------------------------------------------
    // Slashing
    // ------------------------------------------------------------------------------------------

    /// @notice Has EigenLayer slash `wadToSlash` of the operator's allocation to Warden's set in every
    /// strategy of the set, then, if the operator is still in the set, voids the weights
    /// (`weightsRefreshedAt` 0 from this block) so that no quorum counts them until the next full
    /// `refreshWeights` reads what is left: one state write per block, instead of re-reading and
    /// archiving each slashed operator's weight. Only the slasher.
    /// @dev An operator that left the set stays slashable in EigenLayer for its deallocation delay;
    /// its weight here is already zero.
    /// @param operator An operator that registered with Warden at some point.
    /// @param wadToSlash Fraction of the allocation to slash, 1e18 = all; EigenLayer requires (0, 1e18].
    /// @param description Recorded by EigenLayer with the slash.
    /// @return slashId EigenLayer's id of this slash in Warden's operator set (they count from 1):
    /// with `operatorSet()`, what `StrategyManager.clearBurnOrRedistributableShares` takes to pay the
    /// slashed stake to the redistribution recipient.
    /// @return sharesSlashed The shares EigenLayer took, summed over the set's strategies as it
    /// reports them: the operator's slashed shares plus the slashed part of its stakers' queued
    /// withdrawals. Zero when the operator had nothing left to take.
    function slashOperator(address operator, uint256 wadToSlash, string calldata description)
        external
        nonReentrant
        returns (uint256 slashId, uint256 sharesSlashed)
    {
        if (msg.sender != slasher) revert NotSlasher(msg.sender);
        bytes32 operatorId = operatorIdOf[operator];
        if (operatorId == bytes32(0)) revert UnknownOperator(operator);
        return _slash(operator, operatorId, wadToSlash, description);
    }

    /// @inheritdoc IWardenRegistry
    function slashOperatorAt(
        uint256 index,
        uint32 referenceBlock,
        uint256 wadToSlash,
        string calldata description
    )
        external
        nonReentrant
        returns (bytes32 operatorId, address operator, bool member, uint256 slashId, uint256 sharesSlashed)
    {
        if (msg.sender != slasher) revert NotSlasher(msg.sender);
        operatorId = operatorIds[index];
        operator = operatorOf[operatorId];
        (member,) = _operatorAt(operatorId, referenceBlock);
        if (member) (slashId, sharesSlashed) = _slash(operator, operatorId, wadToSlash, description);
    }

    /// @dev Slashes a registered operator in EigenLayer; see `slashOperator`.
    function _slash(address operator, bytes32 operatorId, uint256 wadToSlash, string calldata description)
        private
        returns (uint256 slashId, uint256 sharesSlashed)
    {
        // Before EigenLayer is called: whatever the operator has accrued and not been paid is forfeit.
        OperatorState storage state = _operators[operatorId];
        state.lastSlashedAt = uint32(block.number);

        address[] memory strategies_ = _slashingStrategies();
        uint256[] memory wads = new uint256[](strategies_.length);
        for (uint256 i; i < wads.length; ++i) {
            wads[i] = wadToSlash;
        }
        uint256[] memory shares;
        (slashId, shares) = allocationManager.slashOperator(
            address(this),
            SlashingParams({
                operator: operator,
                operatorSetId: OPERATOR_SET_ID,
                strategies: strategies_,
                wadsToSlash: wads,
                description: description
            })
        );
        for (uint256 i; i < shares.length; ++i) {
            sharesSlashed += shares[i];
        }
        // After the call: the event reports the slash id and shares only EigenLayer's answer tells.
        emit OperatorSlashed(operator, operatorId, slashId, wadToSlash, sharesSlashed);

        // The weights no longer say what is slashable: no quorum counts them until the next full
        // refresh. After the call, like the weight it voids. Once per refresh: a state already
        // voided stays so, whatever else is slashed before the refresh.
        QuorumState memory quorum = _quorum;
        if (state.registered && quorum.weightsRefreshedAt != 0) {
            _writeQuorum(_unpack(_aggregateKey), quorum.operatorCount, quorum.totalWeight, 0, true);
        }
    }

    /// @dev The set's strategies in ascending order (EigenLayer refuses them otherwise; the set keeps
    /// them in creation order), read from EigenLayer once per transaction and kept in transient
    /// storage for the slashes that follow in it: a batch of slashes would otherwise re-read the
    /// same list for every operator. The set's strategies cannot change meanwhile: they are fixed
    /// when `configureAVS` creates the set, and this contract, the only account EigenLayer lets
    /// change them, has no function that does.
    function _slashingStrategies() private returns (address[] memory strategies_) {
        bytes32 slot = _SLASHING_STRATEGIES_SLOT;
        uint256 cached;
        assembly ("memory-safe") {
            cached := tload(slot)
        }
        // Word 0 holds the count plus one (zero: nothing cached), words 1.. the strategies.
        if (cached != 0) {
            uint256 count = cached - 1;
            strategies_ = new address[](count);
            for (uint256 i; i < count; ++i) {
                address strategy;
                assembly ("memory-safe") {
                    strategy := tload(add(slot, add(i, 1)))
                }
                strategies_[i] = strategy;
            }
            return strategies_;
        }
        strategies_ = _strategies();
        AddressSort.ascending(strategies_);
        uint256 length = strategies_.length;
        assembly ("memory-safe") {
            tstore(slot, add(length, 1))
        }
        for (uint256 i; i < length; ++i) {
            address strategy = strategies_[i];
            assembly ("memory-safe") {
                tstore(add(slot, add(i, 1)), strategy)
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // Quorum check
    // ------------------------------------------------------------------------------------------

    /// @notice Verifies `signature` over `digest` by every operator registered at `referenceBlock`
    /// except `nonSigners`, and returns the weight that signed and the set's total weight then.
    /// Refuses, with `StaleWeights`, a reference block whose weights were last refreshed in full more
    /// than `maxWeightAge` blocks before it, or never.
    /// @param referenceBlock A block strictly before the current one.
    /// @param digest The 32-byte message the operators signed.
    /// @param nonSigners Public keys of the set's operators that did not sign, sorted by operator id
    /// (keccak256 of the encoding), strictly ascending.
    /// @param signature The aggregate of the signers' signatures (G2, EIP-2537).
    /// @return signedWeight Total weight of the signers at `referenceBlock`.
    /// @return totalWeight Total weight of the set at `referenceBlock`.
    function checkQuorum(
        uint32 referenceBlock,
        bytes32 digest,
        BLS.G1Point[] calldata nonSigners,
        BLS.G2Point calldata signature
    ) external view returns (uint256 signedWeight, uint256 totalWeight) {
        if (referenceBlock >= block.number) {
            revert ReferenceBlockNotInPast(referenceBlock, block.number);
        }
        BLS.G2Point memory sig = signature;
        if (BLS12381.isInfinity(sig)) revert InfinitySignature();
        BLS12381.requireCanonical(sig);

        (BLS.G1Point memory aggregateKey, uint96 weightAtBlock,, uint32 refreshedAt) =
            _quorumAt(referenceBlock);
        // refreshedAt <= referenceBlock: the state in effect then was written at or after the refresh.
        if (refreshedAt == 0 || referenceBlock - refreshedAt > maxWeightAge) {
            revert StaleWeights(referenceBlock, refreshedAt, maxWeightAge);
        }
        totalWeight = weightAtBlock;

        uint256 nonSignerWeight;
        if (nonSigners.length != 0) {
            (aggregateKey, nonSignerWeight) = _removeNonSigners(aggregateKey, nonSigners, referenceBlock);
        }
        if (BLS12381.isInfinity(aggregateKey)) revert InfinityAggregateKey();
        if (!BLS12381.verify(aggregateKey, BLS12381.hashToG2(digest), sig)) revert InvalidSignature();
        signedWeight = totalWeight - nonSignerWeight;
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @notice The message an operator signs to prove possession of `publicKey` when registering.
    function proofOfPossessionMessage(address operator, BLS.G1Point calldata publicKey)
        external
        view
        returns (bytes32)
    {
        return WardenDigests.proofOfPossessionMessage(
            block.chainid, address(this), operator, WardenDigests.publicKeyHash(publicKey)
        );
    }

    /// @notice Whether the operator was in the set at `blockNumber`, and its weight then.
    function operatorAt(bytes32 operatorId, uint32 blockNumber) external view returns (bool, uint96) {
        return _operatorAt(operatorId, blockNumber);
    }

    /// @inheritdoc IWardenRegistry
    function quorumAt(uint32 blockNumber)
        external
        view
        returns (BLS.G1Point memory aggregateKey, uint96 totalWeight, uint32 operatorCount)
    {
        (aggregateKey, totalWeight, operatorCount,) = _quorumAt(blockNumber);
    }

    /// @inheritdoc IWardenRegistry
    function weightsRefreshedAt(uint32 blockNumber) external view returns (uint32 refreshedAt) {
        if (_quorum.fromBlock == 0) return 0;
        (,,, refreshedAt) = _quorumAt(blockNumber);
    }

    /// @inheritdoc IWardenRegistry
    /// @dev One `eth_call` for the aggregator: reads every id ever registered (about six storage reads
    /// per operator), so a set of 1,000 costs about 13 M gas of the call's budget.
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
        )
    {
        (, totalWeight,,) = _quorumAt(blockNumber);
        changedAt = _changedAt(blockNumber);
        (ids, operators, publicKeys, weights) = _membersAt(blockNumber);
    }

    /// @inheritdoc IWardenRegistry
    function lastSlashedAt(address operator) external view returns (uint32) {
        return _operators[operatorIdOf[operator]].lastSlashedAt;
    }

    /// @inheritdoc IWardenRegistry
    function setChangedAt(uint32 blockNumber) external view returns (uint32) {
        return _changedAt(blockNumber);
    }

    /// @notice The operators in the set now, in order of first registration.
    function registeredOperators() external view returns (address[] memory members) {
        (members,) = _currentMembers();
    }

    /// @notice The registered BLS public key of an operator id (infinity when unknown).
    function publicKeyOf(bytes32 operatorId) external view returns (BLS.G1Point memory) {
        return _unpack(_publicKeys[operatorId]);
    }

    /// @inheritdoc IWardenRegistry
    function operatorAtIndex(uint256 index, uint32 blockNumber)
        external
        view
        returns (bytes32 operatorId, address operator, bool registered)
    {
        operatorId = operatorIds[index];
        operator = operatorOf[operatorId];
        (registered,) = _operatorAt(operatorId, blockNumber);
    }

    /// @notice How many operators have ever registered.
    function operatorIdCount() external view returns (uint256) {
        return operatorIds.length;
    }

    /// @notice The strategies of Warden's operator set, in the set's order.
    function strategies() external view returns (address[] memory) {
        return _strategies();
    }

    /// @inheritdoc IWardenRegistry
    function operatorSet() external view returns (OperatorSet memory) {
        return OperatorSet({avs: address(this), id: OPERATOR_SET_ID});
    }

    /// @inheritdoc IWardenRegistry
    /// @dev Warden's strategies are ERC-20 strategies (the task manager requires the stake in the
    /// agent's base token, which rules out beacon-chain ETH), whose slashed shares EigenLayer books
    /// with the StrategyManager.
    function strategyManager() external view returns (address) {
        address delegation = IAllocationManagerSlashing(address(allocationManager)).delegation();
        return IDelegationManagerSlashing(delegation).strategyManager();
    }

    /// @inheritdoc IWardenRegistry
    function redistributionRecipient() external view returns (address) {
        return
            allocationManager.getRedistributionRecipient(
                OperatorSet({avs: address(this), id: OPERATOR_SET_ID})
            );
    }

    // ------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------

    function _requireWardenSet(address avs, uint32[] calldata operatorSetIds) private view {
        if (avs != address(this)) revert UnsupportedAVS(avs);
        if (operatorSetIds.length != 1 || operatorSetIds[0] != OPERATOR_SET_ID) {
            revert UnsupportedOperatorSets();
        }
    }

    /// @dev Subtracts the non-signers' keys from the aggregate and sums their weight at the block.
    /// This is checkQuorum's only per-signer cost, hence the hand-tuned loop: each key goes from
    /// calldata straight into a reused buffer and is hashed there, and the sum starts as the first
    /// key, so n non-signers cost one cold storage read each and n - 1 additions.
    function _removeNonSigners(
        BLS.G1Point memory aggregateKey,
        BLS.G1Point[] calldata nonSigners,
        uint32 referenceBlock
    ) private view returns (BLS.G1Point memory, uint256 nonSignerWeight) {
        BLS.G1Point memory nonSignerSum;
        BLS.G1Point memory key;
        bytes32 previousId;
        uint256 count = nonSigners.length;
        for (uint256 i; i < count; ++i) {
            bytes32 operatorId;
            assembly ("memory-safe") {
                let target := key
                if iszero(i) { target := nonSignerSum }
                calldatacopy(target, add(nonSigners.offset, shl(7, i)), 0x80)
                operatorId := keccak256(target, 0x80)
            }
            if (operatorId <= previousId) revert NonSignersNotSorted(i);
            previousId = operatorId;
            (bool registered, uint96 weight) = _operatorAt(operatorId, referenceBlock);
            if (!registered) revert NonSignerNotRegistered(operatorId, referenceBlock);
            // Fewer than 2^160 weights below 2^96 each: the sum cannot overflow.
            unchecked {
                nonSignerWeight += weight;
            }
            // Registered keys were validated at registration, so these additions cannot fail.
            if (i != 0) BLS12381.addInPlace(nonSignerSum, key);
        }
        BLS12381.addInPlace(aggregateKey, BLS12381.negate(nonSignerSum));
        return (aggregateKey, nonSignerWeight);
    }

    function _validatePublicKey(address operator, BLS.G1Point memory publicKey)
        private
        view
        returns (bytes32 operatorId)
    {
        if (BLS12381.isInfinity(publicKey)) revert InfinityPublicKey();
        BLS12381.requireCanonical(publicKey);
        // No separate subgroup check: the proof of possession's pairing check refuses a key off the
        // curve or outside the prime-order subgroup (`PairingInputRejected`), as EIP-2537 requires.
        operatorId = WardenDigests.publicKeyHash(publicKey);
        address owner_ = operatorOf[operatorId];
        if (owner_ != address(0) && owner_ != operator) {
            revert PublicKeyAlreadyRegistered(operatorId, owner_);
        }
        bytes32 bound = operatorIdOf[operator];
        if (bound != bytes32(0) && bound != operatorId) revert PublicKeyMismatch(bound, operatorId);
    }

    function _verifyProofOfPossession(
        address operator,
        bytes32 operatorId,
        BLS.G1Point memory publicKey,
        BLS.G2Point memory proof
    ) private view {
        BLS12381.requireCanonical(proof);
        if (BLS12381.isInfinity(proof)) revert InvalidProofOfPossession();
        bytes32 message =
            WardenDigests.proofOfPossessionMessage(block.chainid, address(this), operator, operatorId);
        if (!BLS12381.verify(publicKey, BLS12381.hashToG2(message), proof)) {
            revert InvalidProofOfPossession();
        }
    }

    function _strategies() private view returns (address[] memory) {
        return
            allocationManager.getStrategiesInOperatorSet(
                OperatorSet({avs: address(this), id: OPERATOR_SET_ID})
            );
    }

    /// @dev An operator's weight: its minimum slashable stake for Warden's set between now and the
    /// horizon, summed over the set's strategies (Warden's strategies share one unit of account).
    function _currentWeight(address operator, address[] memory strategies_) private view returns (uint96) {
        address[] memory operators = new address[](1);
        operators[0] = operator;
        uint256[][] memory stakes = allocationManager.getMinimumSlashableStake(
            OperatorSet({avs: address(this), id: OPERATOR_SET_ID}), operators, strategies_, _horizonBlock()
        );
        return _sum(stakes[0]);
    }

    /// @dev The block at which weights measure slashable stake: a deallocation taking effect at or
    /// before it does not count.
    function _horizonBlock() private view returns (uint32) {
        return (block.number + weightHorizon).toUint32();
    }

    function _sum(uint256[] memory stakes) private pure returns (uint96) {
        uint256 total;
        for (uint256 i; i < stakes.length; ++i) {
            total += stakes[i];
        }
        return total.toUint96();
    }

    /// @dev The members of the set at `blockNumber`, in order of first registration: ids, addresses,
    /// keys and weights then.
    function _membersAt(uint32 blockNumber)
        private
        view
        returns (
            bytes32[] memory ids,
            address[] memory operators,
            BLS.G1Point[] memory publicKeys,
            uint96[] memory weights
        )
    {
        uint256 total = operatorIds.length;
        ids = new bytes32[](total);
        operators = new address[](total);
        publicKeys = new BLS.G1Point[](total);
        weights = new uint96[](total);
        uint256 count;
        for (uint256 i; i < total; ++i) {
            bytes32 operatorId = operatorIds[i];
            (bool registered, uint96 weight) = _operatorAt(operatorId, blockNumber);
            if (!registered) continue;
            ids[count] = operatorId;
            operators[count] = operatorOf[operatorId];
            publicKeys[count] = _unpack(_publicKeys[operatorId]);
            weights[count] = weight;
            ++count;
        }
        assembly ("memory-safe") {
            mstore(ids, count)
            mstore(operators, count)
            mstore(publicKeys, count)
            mstore(weights, count)
        }
    }

    /// @dev The operators in the set now, in order of first registration, and their ids. Reads every
    /// id ever registered: the set's history is the registry's one list of operators.
    function _currentMembers() private view returns (address[] memory members, bytes32[] memory ids) {
        uint256 total = operatorIds.length;
        members = new address[](total);
        ids = new bytes32[](total);
        uint256 count;
        for (uint256 i; i < total; ++i) {
            bytes32 operatorId = operatorIds[i];
            if (!_operators[operatorId].registered) continue;
            members[count] = operatorOf[operatorId];
            ids[count] = operatorId;
            ++count;
        }
        assembly ("memory-safe") {
            mstore(members, count)
            mstore(ids, count)
        }
    }

    function _writeOperator(bytes32 operatorId, bool registered, uint96 weight) private {
        OperatorState memory state = _operators[operatorId];
        uint32 current = uint32(block.number);
        if (state.fromBlock != 0 && state.fromBlock != current) {
            _operatorArchive[operatorId][state.archived] = OperatorCheckpoint({
                fromBlock: state.fromBlock, registered: state.registered, weight: state.weight
            });
            state.archived += 1;
        }
        _operators[operatorId] = OperatorState({
            fromBlock: current,
            archived: state.archived,
            registered: registered,
            weight: weight,
            lastSlashedAt: state.lastSlashedAt
        });
    }

    function _writeQuorum(
        BLS.G1Point memory aggregateKey,
        uint32 operatorCount,
        uint96 totalWeight,
        uint32 weightsRefreshedAt_,
        bool changed
    ) private {
        QuorumState memory quorum = _quorum;
        uint32 current = uint32(block.number);
        if (quorum.fromBlock != 0 && quorum.fromBlock != current) {
            _quorumArchive[quorum.archived] = QuorumCheckpoint({
                fromBlock: quorum.fromBlock,
                operatorCount: quorum.operatorCount,
                totalWeight: quorum.totalWeight,
                weightsRefreshedAt: quorum.weightsRefreshedAt,
                changedAt: quorum.changedAt,
                aggregateKey: _aggregateKey
            });
            quorum.archived += 1;
        }
        _quorum = QuorumState({
            fromBlock: current,
            archived: quorum.archived,
            operatorCount: operatorCount,
            totalWeight: totalWeight,
            weightsRefreshedAt: weightsRefreshedAt_,
            changedAt: changed ? current : quorum.changedAt
        });
        _aggregateKey = _pack(aggregateKey);
    }

    function _operatorAt(bytes32 operatorId, uint32 blockNumber) private view returns (bool, uint96) {
        OperatorState storage state = _operators[operatorId];
        // One read of the packed slot (OperatorState's layout: fromBlock in bits 0-31, archived
        // 32-63, registered 64-71, weight 72-167); field accesses would each repeat the SLOAD.
        uint256 packed;
        assembly ("memory-safe") {
            packed := sload(state.slot)
        }
        // Truncating casts are the unpacking: each takes exactly its field's bits.
        // forge-lint: disable-next-line(unsafe-typecast)
        uint32 fromBlock = uint32(packed);
        if (fromBlock == 0) return (false, 0);
        // forge-lint: disable-next-line(unsafe-typecast)
        if (fromBlock <= blockNumber) return (uint8(packed >> 64) != 0, uint96(packed >> 72));
        mapping(uint256 => OperatorCheckpoint) storage archive = _operatorArchive[operatorId];
        // Greatest archived index whose fromBlock <= blockNumber.
        uint256 low;
        uint256 high = state.archived;
        while (low < high) {
            uint256 mid = (low + high) / 2;
            if (archive[mid].fromBlock <= blockNumber) low = mid + 1;
            else high = mid;
        }
        if (low == 0) return (false, 0);
        OperatorCheckpoint memory checkpoint = archive[low - 1];
        return (checkpoint.registered, checkpoint.weight);
    }

    function _quorumAt(uint32 blockNumber) private view returns (BLS.G1Point memory, uint96, uint32, uint32) {
        QuorumState memory quorum = _quorum;
        if (quorum.fromBlock != 0 && quorum.fromBlock <= blockNumber) {
            return
                (_unpack(_aggregateKey), quorum.totalWeight, quorum.operatorCount, quorum.weightsRefreshedAt);
        }
        QuorumCheckpoint storage checkpoint = _quorumArchive[_archivedQuorumAt(blockNumber, quorum.archived)];
        return (
            _unpack(checkpoint.aggregateKey),
            checkpoint.totalWeight,
            checkpoint.operatorCount,
            checkpoint.weightsRefreshedAt
        );
    }

    /// @dev The block of the latest change to the set or a weight at or before `blockNumber`.
    function _changedAt(uint32 blockNumber) private view returns (uint32) {
        QuorumState memory quorum = _quorum;
        if (quorum.fromBlock != 0 && quorum.fromBlock <= blockNumber) return quorum.changedAt;
        return _quorumArchive[_archivedQuorumAt(blockNumber, quorum.archived)].changedAt;
    }

    /// @dev The index of the archived set state in effect at `blockNumber` (the greatest whose fromBlock
    /// is at or before it), among the first `archived`; reverts if there is none.
    function _archivedQuorumAt(uint32 blockNumber, uint256 archived) private view returns (uint256) {
        uint256 low;
        uint256 high = archived;
        while (low < high) {
            uint256 mid = (low + high) / 2;
            if (_quorumArchive[mid].fromBlock <= blockNumber) low = mid + 1;
            else high = mid;
        }
        if (low == 0) revert NoOperatorSetAtBlock(blockNumber);
        return low - 1;
    }

    function _pack(BLS.G1Point memory point) private pure returns (PackedG1 memory) {
        // Canonical coordinates have 16 zero padding bytes at the top of their high word.
        return PackedG1({
            high: bytes32((uint256(point.x_a) << 128) | uint256(point.y_a)), xLow: point.x_b, yLow: point.y_b
        });
    }

    function _unpack(PackedG1 memory packed) private pure returns (BLS.G1Point memory) {
        uint256 high = uint256(packed.high);
        return BLS.G1Point({
            x_a: bytes32(high >> 128),
            x_b: packed.xLow,
            y_a: bytes32(high & type(uint128).max),
            y_b: packed.yLow
        });
    }
}
