// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IUniswapV2Router} from "../../src/interfaces/IUniswapV2.sol";
import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {WardenChallenges} from "../../src/WardenChallenges.sol";
import {WardenRewards} from "../../src/WardenRewards.sol";
import {WardenTaskManager} from "../../src/WardenTaskManager.sol";
import {WardenVault} from "../../src/WardenVault.sol";
import {UniswapV2InputSource} from "../../src/inputs/UniswapV2InputSource.sol";
import {AgentActions, AgentInput} from "../../src/agent/AgentTypes.sol";
import {MlpAgentVerifier} from "../../src/agent/MlpAgentVerifier.sol";
import {MlpPolicy} from "../../src/agent/MlpPolicy.sol";
import {MlpVerifierFactory} from "../../src/agent/MlpVerifierFactory.sol";
import {ReferenceModel} from "../agent/ReferenceModel.sol";
import {IAgentVerifier} from "../../src/interfaces/IAgentVerifier.sol";
import {ActionContext} from "../../src/interfaces/IWardenVault.sol";
import {
    AgentConfig,
    ITaskManager,
    Task,
    TaskHashes,
    TaskManagerParams,
    TaskState
} from "../../src/interfaces/ITaskManager.sol";
import {PackedWords} from "../../src/libraries/PackedWords.sol";
import {TaskCommitments} from "../../src/libraries/TaskCommitments.sol";
import {RegistryFixture} from "../lib/RegistryFixture.sol";
import {TestToken} from "../lib/TestToken.sol";
import {IUniswapV2FactoryTest, IUniswapV2Pair, IUniswapV2RouterTest, UniswapV2} from "../lib/UniswapV2.sol";
import {Vm} from "../lib/Vm.sol";

/// @dev Test double: an agent verifier that always answers hold and whose actions never lapse, so
/// that the lifecycle tests choose the right and the wrong output at will.
contract StubVerifier is IAgentVerifier {
    bytes32 public immutable agentHash;

    constructor(bytes32 agentHash_) {
        agentHash = agentHash_;
    }

    function evaluate(bytes calldata) external pure returns (bytes memory) {
        return AgentActions.hold();
    }

    function actionDeadlineSeconds() external pure returns (uint32) {
        return type(uint32).max;
    }
}

/// @dev Test double: the real verifier factory, which can also vouch for stub verifiers. The task
/// manager trusts exactly the verifiers its factory names, so the lifecycle tests need a factory that
/// names their stub; the reference agent's tests use the inherited `deployVerifier`.
contract StubVerifierFactory is MlpVerifierFactory {
    function deployStub(bytes32 agentHash) external returns (StubVerifier stub) {
        stub = new StubVerifier(agentHash);
        verifierOf[agentHash] = address(stub);
    }
}

/// @dev Warden end to end on the real EigenLayer core and the real Uniswap v2: four registered
/// operators (Alice, Bob, Carol, Dave with 100, 200, 300, 400 ether), a base/quote market at a price
/// of 2000 whose base token is the stake token, a task manager whose challenges contract is the
/// registry's slasher, the market's input source, a funded vault and one registered agent.
abstract contract TaskManagerFixture is RegistryFixture {
    address internal constant OWNER = address(0x0A11CE0);
    address internal constant KEEPER = address(0x4EE9E4);
    address internal constant TRADER = address(0x7EADE4);
    address internal constant WETH = address(0xE7E7);

    uint16 internal constant THRESHOLD_BPS = 6667;
    uint32 internal constant RESPONSE_WINDOW = 10;
    uint32 internal constant CHALLENGE_WINDOW = 20;
    uint32 internal constant TICK_INTERVAL = 5;
    bytes32 internal constant AGENT_HASH = keccak256("warden test agent");
    uint256 internal constant TOTAL_WEIGHT = 1000 ether;
    uint256 internal constant CHALLENGE_BOND = 1 ether;
    uint256 internal constant CHALLENGE_BOUNTY = 0.5 ether;
    uint32 internal constant SLASHING_PERIOD = 100;
    uint32 internal constant SECONDS_PER_BLOCK = 12;
    /// @dev One observation per block at most: a snapshot's TWAP window spans at least 16 blocks.
    uint32 internal constant MIN_OBSERVATION_INTERVAL = 12;
    uint256 internal constant COMMIT_FEE = 0.001 ether;
    /// @dev What each committed task pays its signers, in the base token, from the prepaid fees.
    uint96 internal constant TASK_FEE = 10 ether;
    /// @dev What slashSigners pays its caller per signer it takes shares from.
    uint256 internal constant SLASH_FEE = 0.01 ether;
    /// @dev Half the signed stake: with all four signing, an action may move 500 base.
    uint16 internal constant STAKE_BOUND_BPS = 5000;
    /// @dev Every fraud-provable outflow together: at most half the stake that signed the latest.
    uint16 internal constant VALUE_AT_RISK_BPS = 5000;
    /// @dev Half of a task's slashed stake beyond its vault's loss goes to its challenger.
    uint16 internal constant SURPLUS_CHALLENGER_BPS = 5000;

    uint256 internal constant POOL_BASE = 1000 ether;
    uint256 internal constant POOL_QUOTE = 2_000_000 ether;
    uint256 internal constant VAULT_BASE = 100 ether;
    uint256 internal constant VAULT_QUOTE = 200_000 ether;

    WardenTaskManager internal taskManager;
    WardenChallenges internal challenges;
    /// @dev Deployed by `deployRewards` only.
    WardenRewards internal rewards;
    UniswapV2InputSource internal inputSource;
    WardenVault internal vault;
    StubVerifierFactory internal verifiers;
    StubVerifier internal verifier;
    TestToken internal base;
    TestToken internal quote;
    IUniswapV2FactoryTest internal factory;
    IUniswapV2RouterTest internal router;
    IUniswapV2Pair internal pair;
    uint64 internal agentId;

    /// @dev Set by attack tests that play a chain on which nobody refreshes the weights.
    bool internal keeperOff;

    /// @dev Each task's snapshot as emitted in TaskOpened, for the calls that need its preimage.
    mapping(uint64 taskId => bytes input) internal taskInput;

    /// @dev Each task's non-signer hash as committed through the fixture's helpers (`commitBy`,
    /// `commitAllAs`, `commitWith`): zero when everyone signed, as for a task committed any other way
    /// with every signature. The calls that open a commitment hash take it.
    mapping(uint64 taskId => bytes32 nonSignerHash) internal taskNonSignerHash;

    /// @dev Each task's output as committed through the fixture's helpers.
    mapping(uint64 taskId => bytes output) internal taskOutput;

    /// @dev Each task's trace hash as committed through `commitWithTrace`; zero (no trace) for a task
    /// committed through the other helpers.
    mapping(uint64 taskId => bytes32 traceHash) internal taskTraceHash;

    /// @dev The task manager comes before Warden's operator set, whose redistribution recipient is
    /// the task manager's restitution contract.
    function deployWarden() internal {
        deployRegistryWithoutSet();
        deployTaskManager();
        createOperatorSet(taskManager.restitution());
        registerAllFour();
        deployAgent();
    }

    /// @dev A task manager and an agent on a registry whose operator set already exists (with the
    /// fixture's stand-in redistribution recipient).
    function deployTaskManagerWithAgent() internal {
        deployTaskManager();
        deployAgent();
    }

    /// @dev A task manager whose challenges contract is the registry's slasher.
    function deployTaskManager() internal {
        verifiers = new StubVerifierFactory();
        taskManager = newTaskManager(SLASHING_PERIOD, 1e18);
        challenges = WardenChallenges(taskManager.challenges());
        registry.setSlasher(address(challenges));
    }

    /// @dev The rewards contract beside the task manager, named the registry's rewards distributor.
    function deployRewards() internal {
        rewards = new WardenRewards(address(taskManager), rewardsCoordinator);
        registry.setRewardsDistributor(address(rewards));
    }

    /// @dev The market, its input source, the stub verifier and the funded vault of one registered
    /// agent.
    function deployAgent() internal {
        deployMarket();
        inputSource = new UniswapV2InputSource(address(taskManager), address(pair), MIN_OBSERVATION_INTERVAL);
        verifier = verifiers.deployStub(AGENT_HASH);
        (vault, agentId) = newVaultWithAgent(OWNER, THRESHOLD_BPS);
        base.mint(address(vault), VAULT_BASE);
        quote.mint(address(vault), VAULT_QUOTE);
    }

    /// @dev The reference agent's verifier from the fixture's factory, trading on the fixture's router
    /// (swaps valid for an hour, 20 bps of size per unit of logit margin).
    function deployReferenceVerifier(uint16 slippageBps, uint16 maxSizeBps, uint16 maxTradeBps)
        internal
        returns (MlpAgentVerifier)
    {
        return MlpAgentVerifier(
            verifiers.deployVerifier(
                ReferenceModel.bytes_(),
                MlpPolicy.Params({
                    router: address(router),
                    slippageBps: slippageBps,
                    deadlineSeconds: 3600,
                    maxSizeBps: maxSizeBps,
                    sizeBpsPerLogit: 20,
                    maxTradeBps: maxTradeBps
                })
            )
        );
    }

    /// @dev A vault of `owner_` with a registered agent run by the verifier `mlp_` (the reference
    /// MLP's, or a large agent's), allowed to swap through the fixture's router; its caps and funds
    /// are the caller's to set.
    function newReferenceAgentVault(IAgentVerifier mlp_, address owner_)
        internal
        returns (WardenVault vault_, uint64 agentId_)
    {
        vault_ = new WardenVault(owner_, address(taskManager), STAKE_BOUND_BPS);
        AgentConfig memory config = defaultConfig(address(vault_));
        (config.agentHash, config.verifier) = (mlp_.agentHash(), address(mlp_));
        vm.prank(owner_);
        agentId_ = taskManager.registerAgent(config);
        allowSwaps(vault_);
    }

    /// @dev A task manager over the fixture's registry and verifier factory.
    function newTaskManager(uint32 slashingPeriod, uint256 slashWad) internal returns (WardenTaskManager) {
        return new WardenTaskManager(
            address(registry), address(verifiers), taskManagerParams(slashingPeriod, slashWad)
        );
    }

    /// @dev The fixture's task manager parameters, with the given slashing period and slash share.
    function taskManagerParams(uint32 slashingPeriod, uint256 slashWad)
        internal
        pure
        returns (TaskManagerParams memory)
    {
        return TaskManagerParams({
            secondsPerBlock: SECONDS_PER_BLOCK,
            slashingPeriod: slashingPeriod,
            valueAtRiskBps: VALUE_AT_RISK_BPS,
            surplusChallengerBps: SURPLUS_CHALLENGER_BPS,
            commitFee: COMMIT_FEE,
            challengeBond: CHALLENGE_BOND,
            challengeBounty: CHALLENGE_BOUNTY,
            slashWad: slashWad,
            slashFee: SLASH_FEE
        });
    }

    /// @dev Registers Alice, Bob, Carol and Dave in one block, then moves one block on.
    function registerAllFour() internal {
        uint256[] memory stakes = new uint256[](4);
        for (uint256 i; i < 4; ++i) {
            stakes[i] = (i + 1) * 100 ether;
        }
        address[] memory operators = allOperators();
        prepareOperators(operators, stakes);
        for (uint256 i; i < 4; ++i) {
            register(operators[i], skOf(operators[i]));
        }
        registry.refreshWeights();
        vm.roll(block.number + 1);
    }

    /// @dev What the aggregator's keeper does before a task opens: refresh the weights once their age
    /// passes half the registry's bound. Attack tests turn it off to play a chain nobody refreshes.
    /// @dev Registers one EigenLayer operator per stake (addresses `vm.addr(0x10000 + i)`), refreshes
    /// the weights, moves a block on and deploys the task manager with its agent: the large sets of
    /// the gas tests. Returns the operators in registration order.
    function deployWithOperators(uint256[] memory stakes) internal returns (address[] memory members) {
        deployRegistry();
        members = new address[](stakes.length);
        for (uint256 i; i < stakes.length; ++i) {
            members[i] = vm.addr(0x10000 + i);
        }
        prepareOperators(members, stakes);
        for (uint256 i; i < stakes.length; ++i) {
            register(members[i], skOf(members[i]));
        }
        registry.refreshWeights();
        vm.roll(block.number + 1);
        deployTaskManagerWithAgent();
    }

    function keepWeightsFresh() internal {
        if (keeperOff) return;
        uint32 refreshedAt = registry.weightsRefreshedAt(uint32(block.number));
        if (block.number - refreshedAt > MAX_WEIGHT_AGE / 2) registry.refreshWeights();
    }

    function deployMarket() internal {
        factory = UniswapV2.deployFactory(address(this));
        router = UniswapV2.deployRouter(address(factory), WETH);
        // Quorum weight must be a quantity of the base token: the stake token is the base.
        base = stakeToken;
        quote = new TestToken("Quote", "QUOTE");
        pair = IUniswapV2Pair(factory.createPair(address(base), address(quote)));
        base.mint(address(this), POOL_BASE);
        quote.mint(address(this), POOL_QUOTE);
        base.approve(address(router), POOL_BASE);
        quote.approve(address(router), POOL_QUOTE);
        router.addLiquidity(
            address(base), address(quote), POOL_BASE, POOL_QUOTE, 0, 0, address(this), block.timestamp
        );
    }

    function allOperators() internal pure returns (address[] memory) {
        return list(ALICE, BOB, CAROL, DAVE);
    }

    function defaultConfig(address vault_) internal view returns (AgentConfig memory) {
        return AgentConfig({
            agentHash: AGENT_HASH,
            verifier: address(verifier),
            vault: vault_,
            inputSource: address(inputSource),
            tokenBase: address(base),
            tokenQuote: address(quote),
            thresholdBps: THRESHOLD_BPS,
            responseWindow: RESPONSE_WINDOW,
            challengeWindow: CHALLENGE_WINDOW,
            tickInterval: TICK_INTERVAL,
            taskFee: TASK_FEE
        });
    }

    function newVaultWithAgent(address owner_, uint16 thresholdBps)
        internal
        returns (WardenVault vault_, uint64 agentId_)
    {
        vault_ = new WardenVault(owner_, address(taskManager), STAKE_BOUND_BPS);
        AgentConfig memory config = defaultConfig(address(vault_));
        config.thresholdBps = thresholdBps;
        vm.prank(owner_);
        agentId_ = taskManager.registerAgent(config);
    }

    // ------------------------------------------------------------------------------------------
    // Market
    // ------------------------------------------------------------------------------------------

    function path(address from, address to) internal pure returns (address[] memory p) {
        p = new address[](2);
        (p[0], p[1]) = (from, to);
    }

    /// @dev A trader swaps `amountIn` of `from` into the pool, moving the price.
    function trade(TestToken from, TestToken to, uint256 amountIn) internal {
        from.mint(TRADER, amountIn);
        vm.startPrank(TRADER);
        from.approve(address(router), amountIn);
        router.swapExactTokensForTokens(
            amountIn, 0, path(address(from), address(to)), TRADER, block.timestamp
        );
        vm.stopPrank();
    }

    function reservesBaseQuote() internal view returns (uint256 reserveBase, uint256 reserveQuote) {
        (uint112 r0, uint112 r1,) = pair.getReserves();
        return pair.token0() == address(base) ? (uint256(r0), uint256(r1)) : (uint256(r1), uint256(r0));
    }

    /// @dev The TWAP of an interval over which the pool's current price held: the pair's UQ112x112
    /// price in 1e18 fixed point, as the input source computes it.
    function twapOfSpot() internal view returns (uint256) {
        (uint256 reserveBase, uint256 reserveQuote) = reservesBaseQuote();
        return ((reserveQuote << 112) / reserveBase) * 1e18 >> 112;
    }

    function spotPrice() internal view returns (uint256) {
        (uint256 reserveBase, uint256 reserveQuote) = reservesBaseQuote();
        return reserveQuote * 1e18 / reserveBase;
    }

    // ------------------------------------------------------------------------------------------
    // Actions
    // ------------------------------------------------------------------------------------------

    function holdOutput() internal pure returns (bytes memory) {
        return AgentActions.hold();
    }

    /// @dev Sells `amountIn` base for quote through the router, proceeds to the vault. The deadline is
    /// fixed and far, so the same call encodes the same bytes whenever it is built (the clock moves).
    function sellOutput(WardenVault vault_, uint256 amountIn, uint256 amountOutMin)
        internal
        view
        returns (bytes memory)
    {
        bytes memory data = abi.encodeCall(
            IUniswapV2Router.swapExactTokensForTokens,
            (
                amountIn,
                amountOutMin,
                path(address(base), address(quote)),
                address(vault_),
                uint256(type(uint64).max)
            )
        );
        return AgentActions.encode(AgentActions.SELL, address(router), 0, data);
    }

    function allowSwaps(WardenVault vault_) internal {
        vm.prank(vault_.owner());
        vault_.setCallPermission(address(router), IUniswapV2Router.swapExactTokensForTokens.selector, true);
    }

    // ------------------------------------------------------------------------------------------
    // Task flow
    // ------------------------------------------------------------------------------------------

    /// @dev Moves to block `blockNumber`, with the clock moving `SECONDS_PER_BLOCK` per block.
    function rollTo(uint256 blockNumber) internal {
        vm.warp(block.timestamp + (blockNumber - block.number) * SECONDS_PER_BLOCK);
        vm.roll(blockNumber);
    }

    /// @dev Observes the agent's cumulative price in `count` successive new blocks.
    function observeBlocks(uint64 agentId_, uint256 count) internal {
        for (uint256 i; i < count; ++i) {
            rollTo(block.number + 1);
            inputSource.observe(agentId_);
        }
    }

    /// @dev Opens a task and returns it with the snapshot decoded from its TaskOpened event, which
    /// it also keeps in `taskInput`.
    function openTaskWithInput(uint64 agentId_) internal returns (uint64 taskId, AgentInput memory input) {
        vm.recordLogs();
        vm.prank(KEEPER);
        taskId = taskManager.openTask(agentId_);
        recordInputs(vm.getRecordedLogs());
        input = abi.decode(taskInput[taskId], (AgentInput));
    }

    /// @dev Keeps the snapshot of every TaskOpened among `logs`.
    function recordInputs(Vm.Log[] memory logs) internal {
        for (uint256 i; i < logs.length; ++i) {
            if (
                logs[i].emitter == address(taskManager)
                    && logs[i].topics[0] == ITaskManager.TaskOpened.selector
            ) {
                (,, bytes memory encoded) = abi.decode(logs[i].data, (uint32, bytes32, bytes));
                taskInput[uint64(uint256(logs[i].topics[1]))] = encoded;
            }
        }
    }

    /// @dev Fills the history if needed, has the keeper refresh stale weights, and opens a task.
    function openFreshTask(uint64 agentId_) internal returns (uint64 taskId) {
        (, uint8 observations) = inputSource.observationStatus(agentId_);
        uint256 missing = 17 - observations;
        if (missing > 1) observeBlocks(agentId_, missing - 1);
        uint256 next = block.number + 1;
        uint256 lastOpenedAt = taskManager.agentStatus(agentId_).lastOpenedAt;
        if (lastOpenedAt != 0 && lastOpenedAt + TICK_INTERVAL > next) next = lastOpenedAt + TICK_INTERVAL;
        // The reference block is the one before the opening: refresh there at the latest.
        rollTo(next - 1);
        keepWeightsFresh();
        rollTo(next);
        (taskId,) = openTaskWithInput(agentId_);
    }

    /// @dev The operator ids of `keys`, in their order: what `OutputCommitted` emits for non-signers
    /// and `slashSigners` takes.
    function idsOf(BLS.G1Point[] memory keys) internal pure returns (bytes32[] memory ids) {
        ids = new bytes32[](keys.length);
        for (uint256 i; i < keys.length; ++i) {
            ids[i] = idOf(keys[i]);
        }
    }

    /// @dev What the first `slashSigners` batch takes: the positions of `keys`' ids in the registry's
    /// operator id list, in the order of `keys` (the committed order).
    function indicesOf(BLS.G1Point[] memory keys) internal view returns (uint32[] memory) {
        return indicesOfIds(idsOf(keys));
    }

    /// @dev The task's input hash: the task manager's while the task is not committed, else the hash of
    /// the snapshot kept from its TaskOpened.
    function inputHashOf(uint64 taskId) internal view returns (bytes32 inputHash) {
        inputHash = taskOf(taskId).inputHash;
        if (inputHash == bytes32(0)) inputHash = keccak256(taskInput[taskId]);
    }

    /// @dev The digest the task's operators sign for `outputHash` (the fixture's agent keeps no trace).
    function digestOf(uint64 taskId, bytes32 outputHash) internal view returns (bytes32) {
        return digestOf(taskId, outputHash, bytes32(0));
    }

    /// @dev The digest the task's operators sign for `outputHash` with the trace hashing to `traceHash`.
    function digestOf(uint64 taskId, bytes32 outputHash, bytes32 traceHash) internal view returns (bytes32) {
        return taskManager.outputDigest(taskId, inputHashOf(taskId), outputHash, traceHash);
    }

    /// @dev `keccak256(abi.encodePacked(ids))` of the keys' operator ids, zero for none: what a
    /// commitment with these non-signers binds.
    function nonSignerHashOf(BLS.G1Point[] memory keys) internal pure returns (bytes32) {
        return keys.length == 0 ? bytes32(0) : keccak256(abi.encodePacked(idsOf(keys)));
    }

    /// @dev What opens the commitment of `taskId` to `output`, with the non-signers the fixture kept.
    function hashesOf(uint64 taskId, bytes memory output) internal view returns (TaskHashes memory) {
        return TaskHashes({
            inputHash: keccak256(taskInput[taskId]),
            outputHash: keccak256(output),
            traceHash: taskTraceHash[taskId],
            nonSignerHash: taskNonSignerHash[taskId]
        });
    }

    /// @dev `TaskCommitments.hash`: what a committed task of the fixture's agent (no trace) stores.
    function commitmentHash(bytes32 inputHash, bytes32 outputHash, bytes32 nonSignerHash)
        internal
        pure
        returns (bytes32)
    {
        return TaskCommitments.hash(inputHash, outputHash, bytes32(0), nonSignerHash);
    }

    /// @dev Expects the next call to revert with `CommitmentMismatch(taskId, committed, given)`, `given`
    /// the commitment hash of the three values shown (the task manager's and the rewards contract's
    /// errors share the selector).
    function expectCommitmentMismatch(
        uint64 taskId,
        bytes32 committed,
        bytes32 inputHash,
        bytes32 outputHash,
        bytes32 nonSignerHash
    ) internal {
        vm.expectRevert(
            abi.encodeWithSelector(
                ITaskManager.CommitmentMismatch.selector,
                taskId,
                committed,
                commitmentHash(inputHash, outputHash, nonSignerHash)
            )
        );
    }

    /// @dev Expects `CommitmentMismatch` for the task's committed input, output and non-signers shown
    /// with `traceHash` in place of its committed trace hash.
    function expectCommitmentMismatchWithTrace(uint64 taskId, bytes32 traceHash) internal {
        vm.expectRevert(
            abi.encodeWithSelector(
                ITaskManager.CommitmentMismatch.selector,
                taskId,
                taskOf(taskId).commitmentHash,
                TaskCommitments.hash(
                    keccak256(taskInput[taskId]),
                    keccak256(taskOutput[taskId]),
                    traceHash,
                    taskNonSignerHash[taskId]
                )
            )
        );
    }

    /// @dev Non-signer hashes other than that of a commitment Alice alone did not sign: none, Bob's
    /// (another list), Alice's and Bob's (one more).
    function wrongNonSignerHashesForAlice() internal view returns (bytes32[3] memory) {
        return [
            bytes32(0),
            nonSignerHashOf(nonSignersOf(list(BOB))),
            nonSignerHashOf(nonSignersOf(list(ALICE, BOB)))
        ];
    }

    /// @dev What opens the record of a task never committed.
    function openHashesOf(uint64 taskId) internal view returns (TaskHashes memory) {
        return TaskHashes({
            inputHash: inputHashOf(taskId),
            outputHash: bytes32(0),
            traceHash: bytes32(0),
            nonSignerHash: bytes32(0)
        });
    }

    /// @dev The non-signers' keys and the signers' aggregate signature over the task's digest.
    function quorum(uint64 taskId, bytes memory output, address[] memory signers, address[] memory nonSigners)
        internal
        view
        returns (BLS.G1Point[] memory keys, BLS.G2Point memory signature)
    {
        keys = nonSignersOf(nonSigners);
        signature = signBy(signers, digestOf(taskId, keccak256(output)));
    }

    function commitAll(uint64 taskId, bytes memory output) internal {
        commitAllAs(KEEPER, taskId, output);
    }

    /// @dev `committer` commits `output` with every operator's signature.
    function commitAllAs(address committer, uint64 taskId, bytes memory output) internal {
        (BLS.G1Point[] memory keys, BLS.G2Point memory signature) =
            quorum(taskId, output, allOperators(), new address[](0));
        commitWith(committer, taskId, output, keys, signature);
    }

    /// @dev `committer` commits `output` with these non-signers and signature; the fixture keeps the
    /// non-signer hash for the calls that open the commitment.
    function commitWith(
        address committer,
        uint64 taskId,
        bytes memory output,
        BLS.G1Point[] memory keys,
        BLS.G2Point memory signature
    ) internal {
        vm.prank(committer);
        taskManager.commitOutput(taskId, output, new bytes32[](0), keys, signature);
        noteCommitment(taskId, output, keys);
    }

    /// @dev `committer` commits `output` with an activation trace, signed by `signers` over the digest
    /// that binds the trace's hash; the others are the non-signers.
    function commitWithTrace(
        address committer,
        uint64 taskId,
        bytes memory output,
        bytes32[] memory trace,
        address[] memory signers,
        address[] memory nonSigners
    ) internal {
        BLS.G1Point[] memory keys = nonSignersOf(nonSigners);
        bytes32 traceHash = hashTrace(trace);
        BLS.G2Point memory signature = signBy(signers, digestOf(taskId, keccak256(output), traceHash));
        vm.prank(committer);
        taskManager.commitOutput(taskId, output, trace, keys, signature);
        noteCommitment(taskId, output, keys);
        taskTraceHash[taskId] = traceHash;
    }

    /// @dev `TaskCommitments.hashTrace` of a trace in memory.
    function hashTrace(bytes32[] memory trace) internal pure returns (bytes32) {
        return PackedWords.hashMemory(trace);
    }

    /// @dev A trace of `count` distinct chunk hashes, as random as keccak makes them.
    function traceOf(uint256 count, uint256 seed) internal pure returns (bytes32[] memory trace) {
        trace = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            trace[i] = keccak256(abi.encode(seed, i));
        }
    }

    /// @dev Keeps what a commitment made outside the fixture's helpers bound: its output and its
    /// non-signers' hash.
    function noteCommitment(uint64 taskId, bytes memory output, BLS.G1Point[] memory keys) internal {
        taskNonSignerHash[taskId] = nonSignerHashOf(keys);
        taskOutput[taskId] = output;
    }

    /// @dev Opens a task, commits `output` with every operator's signature and rolls past its deadline.
    function finalTask(uint64 agentId_, bytes memory output) internal returns (uint64 taskId) {
        taskId = openFreshTask(agentId_);
        commitAll(taskId, output);
        vm.roll(taskManager.getTask(taskId).deadline + 1);
    }

    function execute(uint64 taskId, bytes memory output) internal {
        vm.prank(KEEPER);
        taskManager.execute(
            taskId, taskInput[taskId], output, taskTraceHash[taskId], taskNonSignerHash[taskId]
        );
    }

    /// @dev The context the task manager hands the vault for a task of the fixture's agent now.
    function contextOf(uint64 taskId) internal view returns (ActionContext memory) {
        AgentInput memory input = abi.decode(taskInput[taskId], (AgentInput));
        (uint256 spotNow, uint256 twapNow) = inputSource.currentPrices(taskOf(taskId).agentId);
        return ActionContext({
            signedStake: taskOf(taskId).signedWeight,
            tokenBase: input.tokenBase,
            tokenQuote: input.tokenQuote,
            price: input.twapPrice,
            spotNow: spotNow,
            twapNow: twapNow
        });
    }

    /// @dev A context pricing `tokenBase` 1:1 against the quote token, spot at its TWAP, with more
    /// signed stake than any test moves, for vault tests about other rules than the stake bound.
    function ampleContext(address tokenBase) internal view returns (ActionContext memory) {
        return ActionContext({
            signedStake: 1e30,
            tokenBase: tokenBase,
            tokenQuote: address(quote),
            price: 1e18,
            spotNow: 1e18,
            twapNow: 1e18
        });
    }

    // ------------------------------------------------------------------------------------------
    // Challenges
    // ------------------------------------------------------------------------------------------

    /// @dev An action the stub verifier never outputs (it always holds): committing it is fraud.
    function fraudulentOutput() internal view returns (bytes memory) {
        return sellOutput(vault, 1 ether, 0);
    }

    /// @dev Opens a task and commits `output`, signed by `signers`; `nonSigners` are the rest.
    function commitBy(
        uint64 agentId_,
        bytes memory output,
        address[] memory signers,
        address[] memory nonSigners
    ) internal returns (uint64 taskId, BLS.G1Point[] memory keys) {
        taskId = openFreshTask(agentId_);
        BLS.G2Point memory signature;
        (keys, signature) = quorum(taskId, output, signers, nonSigners);
        commitWith(KEEPER, taskId, output, keys, signature);
    }

    /// @dev `challenger` challenges with the bond, given the task's snapshot and `output`, in one call
    /// without a prior commitment: upheld or not, it earns no bounty.
    function challengeAs(address challenger, uint64 taskId, bytes memory output) internal returns (bool) {
        vm.deal(challenger, challenger.balance + CHALLENGE_BOND);
        vm.prank(challenger);
        return challenges.challenge{value: CHALLENGE_BOND}(
            taskId, taskInput[taskId], output, taskTraceHash[taskId], taskNonSignerHash[taskId], bytes32(0)
        );
    }

    /// @dev The salt the fixture's challengers commit with.
    function saltOf(address challenger) internal pure returns (bytes32) {
        return keccak256(abi.encode("warden test salt", challenger));
    }

    /// @dev `challenger` commits to a challenge of `taskId` expecting `expectedOutput` (what the stub
    /// verifier computes: hold), in this block.
    function commitChallengeAs(address challenger, uint64 taskId, bytes memory expectedOutput) internal {
        bytes32 commitment =
            challenges.sealChallenge(challenger, taskId, keccak256(expectedOutput), saltOf(challenger));
        vm.prank(challenger);
        challenges.commitChallenge(commitment);
    }

    /// @dev The bounty-earning challenge: commit, one block later reveal with the salt.
    function commitAndChallengeAs(address challenger, uint64 taskId, bytes memory output)
        internal
        returns (bool)
    {
        commitChallengeAs(challenger, taskId, holdOutput());
        vm.roll(block.number + 1);
        return revealChallengeAs(challenger, taskId, output);
    }

    /// @dev `challenger` challenges with the bond and the salt of its commitment.
    function revealChallengeAs(address challenger, uint64 taskId, bytes memory output)
        internal
        returns (bool)
    {
        vm.deal(challenger, challenger.balance + CHALLENGE_BOND);
        vm.prank(challenger);
        return challenges.challenge{value: CHALLENGE_BOND}(
            taskId,
            taskInput[taskId],
            output,
            taskTraceHash[taskId],
            taskNonSignerHash[taskId],
            saltOf(challenger)
        );
    }

    function stateOf(uint64 taskId) internal view returns (TaskState) {
        return taskManager.getTask(taskId).state;
    }

    function assertState(uint64 taskId, TaskState expected, string memory message) internal view {
        assertEq(uint256(stateOf(taskId)), uint256(expected), message);
    }

    function taskOf(uint64 taskId) internal view returns (Task memory) {
        return taskManager.getTask(taskId);
    }
}
