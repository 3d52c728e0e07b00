// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";
import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {WardenVault} from "../../src/WardenVault.sol";
import {AgentActions} from "../../src/agent/AgentTypes.sol";
import {MlpAgentVerifier} from "../../src/agent/MlpAgentVerifier.sol";
import {MlpPolicy} from "../../src/agent/MlpPolicy.sol";
import {MlpVerifierFactory} from "../../src/agent/MlpVerifierFactory.sol";
import {IAgentVerifier} from "../../src/interfaces/IAgentVerifier.sol";
import {AgentConfig, ITaskManager, TaskState} from "../../src/interfaces/ITaskManager.sol";
import {ReferenceModel} from "../agent/ReferenceModel.sol";
import {TaskManagerFixture} from "./TaskManagerFixture.sol";

/// @dev The attacker's verifier: it reports the genuine agent's hash and answers like the genuine
/// (stub) verifier until its owner flips it, after which it calls every output wrong.
contract SwitchableVerifier is IAgentVerifier {
    bytes32 public immutable agentHash;
    address private immutable _owner;
    bool public flipped;

    constructor(bytes32 agentHash_) {
        agentHash = agentHash_;
        _owner = msg.sender;
    }

    function flip() external {
        require(msg.sender == _owner, "owner");
        flipped = true;
    }

    function evaluate(bytes calldata) external view returns (bytes memory) {
        if (!flipped) return AgentActions.hold();
        return AgentActions.encode(AgentActions.SELL, address(0xBAD), 0, "");
    }

    function actionDeadlineSeconds() external pure returns (uint32) {
        return type(uint32).max;
    }
}

/// @dev Issue 10, item 1: an agent's verifier is bound to its hash, so nobody can make honest signers
/// look fraudulent through a verifier of their own; and the items that check a verifier at
/// registration (its action deadline) and a veto's effect on challenges.
contract VerifierBindingTest is TaskManagerFixture {
    address internal constant ATTACKER = address(0xA77AC);

    function setUp() public {
        deployWarden();
    }

    function referenceParams(uint32 deadlineSeconds) internal view returns (MlpPolicy.Params memory) {
        return MlpPolicy.Params({
            router: address(router),
            slippageBps: 100,
            deadlineSeconds: deadlineSeconds,
            maxSizeBps: 1000,
            sizeBpsPerLogit: 20,
            maxTradeBps: 100
        });
    }

    function stakeOfAll() internal view returns (uint256 total) {
        address[] memory operators = allOperators();
        for (uint256 i; i < operators.length; ++i) {
            total += slashableStake(operators[i]);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Attacks
    // ------------------------------------------------------------------------------------------

    /// @dev The attack of the issue: register an agent under the genuine hash with a verifier that
    /// agrees until flipped, let the honest quorum sign the right output, flip, challenge. Before the
    /// fix the challenge was upheld and every honest signer slashed; now the registration is refused.
    function test_attack_switchableVerifierFramesHonestSigners() public {
        _fund(2 ether);
        vm.prank(ATTACKER);
        SwitchableVerifier evil = new SwitchableVerifier(AGENT_HASH);
        WardenVault attackerVault = new WardenVault(ATTACKER, address(taskManager), STAKE_BOUND_BPS);
        AgentConfig memory config = defaultConfig(address(attackerVault));
        config.verifier = address(evil);
        uint256 stakeBefore = stakeOfAll();

        vm.prank(ATTACKER);
        try taskManager.registerAgent(config) returns (uint64 evilAgent) {
            // The attack goes on: the honest quorum signs what every honest operator computes.
            bytes memory honest = holdOutput();
            (uint64 taskId, BLS.G1Point[] memory keys) =
                commitBy(evilAgent, honest, allOperators(), new address[](0));
            vm.prank(ATTACKER);
            evil.flip();
            bool upheld = challengeAs(ATTACKER, taskId, honest);
            if (upheld) challenges.slashSigners(taskId, indicesOf(keys), 0);
            assertTrue(!upheld, "an honest quorum's output was judged fraudulent");
            assertEq(stakeOfAll(), stakeBefore, "honest signers were slashed");
        } catch (bytes memory reason) {
            assertEq(
                reason,
                abi.encodeWithSelector(
                    ITaskManager.UntrustedVerifier.selector, AGENT_HASH, address(evil), address(verifier)
                ),
                "refused as untrusted"
            );
        }
        assertEq(stakeOfAll(), stakeBefore, "no stake moved");
    }

    /// @dev A proxy in front of a genuine verifier answers like it until upgraded: refused, even though
    /// its implementation is the factory's own deployment for the hash.
    function test_attack_upgradeableProxyVerifier() public {
        address genuine = verifiers.deployVerifier(ReferenceModel.bytes_(), referenceParams(3600));
        bytes32 hash = IAgentVerifier(genuine).agentHash();
        // OpenZeppelin refuses empty initialisation data; a view call serves.
        ERC1967Proxy proxy = new ERC1967Proxy(genuine, abi.encodeCall(IAgentVerifier.agentHash, ()));
        WardenVault attackerVault = new WardenVault(ATTACKER, address(taskManager), STAKE_BOUND_BPS);
        AgentConfig memory config = defaultConfig(address(attackerVault));
        (config.agentHash, config.verifier) = (hash, address(proxy));
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.UntrustedVerifier.selector, hash, address(proxy), genuine)
        );
        vm.prank(ATTACKER);
        taskManager.registerAgent(config);
    }

    /// @dev A signature names the verifier: the digest of one task under two verifiers differs, so
    /// a quorum's signature is evidence before exactly one judge.
    function test_outputDigest_bindsTheVerifier() public {
        uint64 taskId = openFreshTask(agentId);
        bytes32 outputHash = keccak256(holdOutput());
        bytes32 digest = digestOf(taskId, outputHash);
        // The same task fields under another verifier (the agent's record is the one thing changed).
        bytes32 slot = keccak256(abi.encode(uint256(agentId), uint256(agentsSlot())));
        vm.store(address(taskManager), bytes32(uint256(slot) + 3), bytes32(uint256(uint160(address(0xBEEF)))));
        assertTrue(digestOf(taskId, outputHash) != digest, "digest names the verifier");
    }

    /// @dev The storage slot of `WardenTaskManager._agents` (see `forge inspect ... storage-layout`).
    function agentsSlot() internal pure returns (uint256) {
        return 2;
    }

    // ------------------------------------------------------------------------------------------
    // The reference agent through the factory
    // ------------------------------------------------------------------------------------------

    function test_factory_deploysAtThePredictedAddressOnce() public {
        bytes memory model = ReferenceModel.bytes_();
        MlpPolicy.Params memory params = referenceParams(3600);
        MlpVerifierFactory factory = new MlpVerifierFactory();
        (address predicted, bytes32 hash) = factory.predictVerifier(model, params);
        assertEq(hash, MlpPolicy.agentHash(keccak256(model), params), "hash");

        vm.expectEmit(true, true, false, true, address(factory));
        emit MlpVerifierFactory.VerifierDeployed(hash, predicted, keccak256(model));
        address deployed = factory.deployVerifier(model, params);
        assertEq(deployed, predicted, "CREATE2 address");
        assertEq(factory.verifierOf(hash), deployed, "recorded");
        assertEq(MlpAgentVerifier(deployed).agentHash(), hash, "the verifier reports the hash");

        vm.recordLogs();
        assertEq(factory.deployVerifier(model, params), deployed, "a second deployment returns the first");
        assertEq(vm.getRecordedLogs().length, 0, "and changes nothing");
    }

    function test_revert_factory_invalidConfiguration() public {
        MlpVerifierFactory factory = new MlpVerifierFactory();
        MlpPolicy.Params memory params = referenceParams(3600);
        params.slippageBps = 10_001;
        vm.expectRevert(abi.encodeWithSelector(MlpPolicy.BadSlippage.selector, 10_001));
        factory.deployVerifier(ReferenceModel.bytes_(), params);
        vm.expectRevert(MlpPolicy.BadModelMagic.selector);
        factory.deployVerifier(bytes("not a model at all, though long enough"), referenceParams(3600));
    }

    function test_registerAgent_factoryVerifier() public {
        address genuine = verifiers.deployVerifier(ReferenceModel.bytes_(), referenceParams(3600));
        WardenVault other = new WardenVault(BOB, address(taskManager), STAKE_BOUND_BPS);
        AgentConfig memory config = defaultConfig(address(other));
        (config.agentHash, config.verifier) = (IAgentVerifier(genuine).agentHash(), genuine);
        vm.prank(BOB);
        uint64 id = taskManager.registerAgent(config);
        assertEq(taskManager.getAgent(id).verifier, genuine, "registered");
    }

    /// @dev The swap deadline must outlast the latest execution the windows allow:
    /// (2 x response + challenge) blocks at `secondsPerBlock`.
    function test_attack_verifierDeadlineLapsesBeforeExecution() public {
        uint256 needed = (2 * uint256(RESPONSE_WINDOW) + CHALLENGE_WINDOW) * SECONDS_PER_BLOCK;
        address short = verifiers.deployVerifier(ReferenceModel.bytes_(), referenceParams(uint32(needed - 1)));
        WardenVault other = new WardenVault(BOB, address(taskManager), STAKE_BOUND_BPS);
        AgentConfig memory config = defaultConfig(address(other));
        (config.agentHash, config.verifier) = (IAgentVerifier(short).agentHash(), short);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.ActionDeadlineTooShort.selector, needed - 1, needed)
        );
        vm.prank(BOB);
        taskManager.registerAgent(config);

        address exact = verifiers.deployVerifier(ReferenceModel.bytes_(), referenceParams(uint32(needed)));
        (config.agentHash, config.verifier) = (IAgentVerifier(exact).agentHash(), exact);
        vm.prank(BOB);
        taskManager.registerAgent(config);
    }

    // ------------------------------------------------------------------------------------------
    // Veto
    // ------------------------------------------------------------------------------------------

    /// @dev A veto stops the action, not the proof: before the fix a vetoed fraudulent task could not
    /// be challenged, and its signers kept their stake.
    function test_attack_vetoHidesFraud() public {
        bytes memory output = fraudulentOutput();
        (uint64 taskId, BLS.G1Point[] memory keys) =
            commitBy(agentId, output, allOperators(), new address[](0));
        vm.prank(OWNER);
        vault.veto(taskId);
        assertState(taskId, TaskState.Vetoed, "vetoed");
        uint256 stakeBefore = stakeOfAll();

        assertTrue(challengeAs(BOB, taskId, output), "a vetoed fraud is still upheld");
        assertState(taskId, TaskState.Fraudulent, "fraudulent");
        challenges.slashSigners(taskId, indicesOf(keys), 0);
        assertTrue(stakeOfAll() < stakeBefore, "its signers are slashed");
    }

    /// @dev ... but only until its deadline, like any committed task; and a vetoed right output is
    /// rejected like any other.
    function test_revert_challenge_vetoedAfterFraudProofWindow() public {
        bytes memory output = fraudulentOutput();
        (uint64 taskId,) = commitBy(agentId, output, allOperators(), new address[](0));
        vm.prank(OWNER);
        vault.veto(taskId);
        uint256 lastBlock = taskManager.provableUntil(taskId);
        vm.roll(lastBlock + 1);
        vm.deal(BOB, CHALLENGE_BOND);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.FraudProofWindowOver.selector, taskId, lastBlock));
        vm.prank(BOB);
        challenges.challenge{value: CHALLENGE_BOND}(
            taskId, taskInput[taskId], output, bytes32(0), taskNonSignerHash[taskId], bytes32(0)
        );
    }

    function _fund(uint256 amount) internal {
        vm.deal(address(this), amount);
        challenges.fundBounties{value: amount}();
    }
}
