// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AgentActions, AgentInput} from "../../src/agent/AgentTypes.sol";
import {MlpAgentVerifier} from "../../src/agent/MlpAgentVerifier.sol";
import {MlpPolicy} from "../../src/agent/MlpPolicy.sol";
import {Vm} from "../lib/Vm.sol";
import {AgentFixture} from "./AgentFixture.sol";
import {MlpPolicyHarness} from "./MlpPolicyHarness.sol";
import {ReferenceModel} from "./ReferenceModel.sol";

/// @dev Test-only: the model in plain storage, to compare with the verifier's SSTORE2 data contract.
contract StorageModel {
    bytes internal _model;

    constructor(bytes memory model_) {
        _model = model_;
    }

    function model() external view returns (bytes memory) {
        return _model;
    }
}

/// @dev The verifier of the shipped reference model: agent hash, evaluation, input errors and gas.
contract MlpAgentVerifierTest is AgentFixture {
    event log_named_uint(string key, uint256 val);
    event MlpAgentVerifierDeployed(
        bytes32 indexed agentHash, bytes32 indexed modelHash, address modelPointer, MlpPolicy.Params params
    );

    /// @dev Acceptance target for the gas spent inside `evaluate` on the reference model.
    uint256 internal constant MAX_GAS_EVALUATE = 80_000;

    MlpAgentVerifier internal verifier;
    MlpPolicyHarness internal harness;

    function setUp() public {
        verifier = new MlpAgentVerifier(ReferenceModel.bytes_(), params(1));
        harness = new MlpPolicyHarness();
    }

    function test_agentHash_commitsToCodeModelAndParams() public view {
        bytes32 modelHash = keccak256(ReferenceModel.bytes_());
        assertEq(verifier.modelHash(), modelHash, "model hash");
        MlpPolicy.Params memory p = params(1);
        bytes32 expected = keccak256(
            abi.encode(
                keccak256("warden.agent.mlp.v2"),
                modelHash,
                p.router,
                p.slippageBps,
                p.deadlineSeconds,
                p.maxSizeBps,
                p.sizeBpsPerLogit,
                p.maxTradeBps
            )
        );
        assertEq(verifier.agentHash(), expected, "agent hash");
    }

    function test_storesModelAndParams() public view {
        assertEq(verifier.model(), ReferenceModel.bytes_(), "model");
        MlpPolicy.Params memory p = verifier.params();
        assertEq(abi.encode(p), abi.encode(params(1)), "params");
    }

    function test_constructor_emitsDeployed() public {
        bytes memory model = ReferenceModel.bytes_();
        MlpPolicy.Params memory p = params(1);
        address pointer =
            vm.computeCreateAddress(vm.computeCreateAddress(address(this), vm.getNonce(address(this))), 1);
        vm.expectEmit(
            true, true, true, true, vm.computeCreateAddress(address(this), vm.getNonce(address(this)))
        );
        emit MlpAgentVerifierDeployed(MlpPolicy.agentHash(keccak256(model), p), keccak256(model), pointer, p);
        MlpAgentVerifier deployed = new MlpAgentVerifier(model, p);
        assertEq(deployed.modelPointer(), pointer, "pointer");
    }

    function test_evaluate_matchesPolicy() public view {
        uint256 trades;
        for (uint256 seed; seed < 24; ++seed) {
            bytes memory encoded = abi.encode(input(walk(seed)));
            bytes memory output = verifier.evaluate(encoded);
            assertEq(
                output, harness.evaluate(ReferenceModel.bytes_(), encoded, abi.encode(params(1))), "policy"
            );
            if (keccak256(output) != keccak256(AgentActions.hold())) ++trades;
        }
        assertTrue(trades > 0, "the reference model trades on some walks");
    }

    function test_revert_malformedInput() public {
        vm.expectRevert(abi.encodeWithSelector(MlpAgentVerifier.MalformedInput.selector, 64));
        verifier.evaluate(new bytes(64));
    }

    function test_revert_historyTooShort() public {
        uint256[] memory prices = new uint256[](3);
        bytes memory encoded = abi.encode(input(prices));
        vm.expectRevert(abi.encodeWithSelector(MlpPolicy.HistoryTooShort.selector, 3));
        verifier.evaluate(encoded);
    }

    function test_revert_constructorValidates() public {
        bytes memory model = ReferenceModel.bytes_();
        model[4] = 0x07;
        vm.expectRevert(abi.encodeWithSelector(MlpPolicy.UnsupportedModelVersion.selector, 7));
        new MlpAgentVerifier(model, params(1));
        MlpPolicy.Params memory p = params(1);
        p.maxSizeBps = 20_000;
        model = ReferenceModel.bytes_();
        vm.expectRevert(abi.encodeWithSelector(MlpPolicy.BadMaxSize.selector, 20_000));
        new MlpAgentVerifier(model, p);
    }

    // ---------------------------------------------------------------------------------------------
    // Gas
    // ---------------------------------------------------------------------------------------------

    /// @dev `evaluate` on the reference model with 16 prices, the verifier and its data contract
    /// cold as in a challenge transaction. "inside" is the verifier's own count; "caller" adds the
    /// cold account access and the return data copy.
    function test_gas_evaluate() public {
        (uint256 outer, uint256 inner) = _measure(walk(0));
        emit log_named_uint("evaluate, reference model, 16 prices: gas inside the verifier", inner);
        emit log_named_uint("evaluate, reference model, 16 prices: gas seen by the caller", outer);
        assertLe(inner, MAX_GAS_EVALUATE, "evaluate");

        uint256 maxInner;
        for (uint256 seed = 1; seed < 16; ++seed) {
            (, uint256 used) = _measure(walk(seed));
            if (used > maxInner) maxInner = used;
        }
        emit log_named_uint("evaluate, 15 more walks: most gas inside the verifier", maxInner);
        assertLe(maxInner, MAX_GAS_EVALUATE, "evaluate, worst walk");
    }

    /// @dev Where the gas goes, each part measured in this contract's frame on the decoded input.
    function test_gas_breakdown() public {
        bytes memory model = ReferenceModel.bytes_();
        AgentInput memory in_ = input(walk(0));
        MlpPolicy.Params memory p = params(1);

        uint256 g = gasleft();
        int256[] memory f = MlpPolicy.features(in_);
        uint256 featuresGas = g - gasleft();
        g = gasleft();
        int256[] memory logits = MlpPolicy.forward(model, f);
        uint256 forwardGas = g - gasleft();
        g = gasleft();
        (uint8 kind, uint256 margin) = MlpPolicy.decide(logits);
        MlpPolicy.encodeAction(kind, MlpPolicy.sizeBps(kind, margin, p), in_, p);
        uint256 actionGas = g - gasleft();
        g = gasleft();
        MlpPolicy.validateModel(model);
        uint256 validateGas = g - gasleft();

        emit log_named_uint("features (16 prices)", featuresGas);
        emit log_named_uint("forward (9-16-16-3, 448 multiply-adds)", forwardGas);
        emit log_named_uint("decide + encode action", actionGas);
        emit log_named_uint("validateModel (paid once, at deployment)", validateGas);
    }

    /// @dev Reading the 608-byte model back, cold: SSTORE2 data contract vs plain storage.
    function test_gas_modelStorage() public {
        StorageModel stored = new StorageModel(ReferenceModel.bytes_());
        vm.cool(address(stored));
        uint256 g = gasleft();
        stored.model();
        uint256 storageGas = g - gasleft();

        vm.cool(address(verifier));
        vm.cool(verifier.modelPointer());
        g = gasleft();
        verifier.model();
        uint256 sstore2Gas = g - gasleft();

        emit log_named_uint("read model, plain storage (cold)", storageGas);
        emit log_named_uint("read model, SSTORE2 data contract (cold)", sstore2Gas);
        assertLe(sstore2Gas, storageGas, "SSTORE2 is cheaper");
    }

    function _measure(uint256[] memory prices) private returns (uint256 outer, uint256 inner) {
        bytes memory call = abi.encodeCall(MlpAgentVerifier.evaluate, (abi.encode(input(prices))));
        vm.cool(address(verifier));
        vm.cool(verifier.modelPointer());
        uint256 before = gasleft();
        (bool ok,) = address(verifier).staticcall(call);
        outer = before - gasleft();
        Vm.Gas memory gas = vm.lastCallGas();
        inner = gas.gasTotalUsed;
        assertTrue(ok, "evaluate");
    }
}
