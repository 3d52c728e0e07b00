// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AgentInput} from "../../src/agent/AgentTypes.sol";
import {MlpPolicy} from "../../src/agent/MlpPolicy.sol";

/// @title MlpPolicyHarness
/// @notice Test harness (deployed only by tests): exposes `MlpPolicy` with the model as an argument,
/// many cases per call, so the Rust differential test can compare thousands of random models and
/// inputs with the Rust agent in a few `eth_call`s.
contract MlpPolicyHarness {
    /// @notice Everything the policy computes for one case.
    struct Evaluation {
        int256[] features;
        int256[] logits;
        uint8 decision;
        uint256 sizeBps;
        bytes output;
    }

    /// @notice The batch's three arrays differ in length.
    error LengthMismatch();

    /// @notice Validates and evaluates `models[i]` on `inputs[i]` (`abi.encode(AgentInput)`) with
    /// `params[i]` (`abi.encode(MlpPolicy.Params)`). Reverts if any case is invalid.
    function evaluateBatch(bytes[] calldata models, bytes[] calldata inputs, bytes[] calldata params)
        external
        pure
        returns (Evaluation[] memory results)
    {
        if (models.length != inputs.length || inputs.length != params.length) {
            revert LengthMismatch();
        }
        results = new Evaluation[](models.length);
        for (uint256 i = 0; i < models.length; ++i) {
            results[i] = _evaluate(models[i], inputs[i], params[i]);
        }
    }

    /// @notice `MlpPolicy.evaluate` exactly as the verifier calls it.
    function evaluate(bytes calldata model, bytes calldata input, bytes calldata params)
        external
        pure
        returns (bytes memory)
    {
        MlpPolicy.validateModel(model);
        MlpPolicy.Params memory p = abi.decode(params, (MlpPolicy.Params));
        MlpPolicy.validateParams(p);
        return MlpPolicy.evaluate(model, abi.decode(input, (AgentInput)), p);
    }

    /// @notice Reverts with `MlpPolicy`'s error for an invalid model.
    function validateModel(bytes calldata model) external pure {
        MlpPolicy.validateModel(model);
    }

    /// @notice The revert data of `validateModel` for each model (empty for a valid one).
    function validateBatch(bytes[] calldata models) external view returns (bytes[] memory reverts) {
        reverts = new bytes[](models.length);
        for (uint256 i = 0; i < models.length; ++i) {
            try this.validateModel(models[i]) {}
            catch (bytes memory reason) {
                reverts[i] = reason;
            }
        }
    }

    /// @notice `MlpPolicy.agentHash`.
    function agentHash(bytes32 modelHash, bytes calldata params) external pure returns (bytes32) {
        return MlpPolicy.agentHash(modelHash, abi.decode(params, (MlpPolicy.Params)));
    }

    /// @notice The input decoded and encoded again, for checking the two encoders agree.
    function reencodeInput(bytes calldata input) external pure returns (bytes memory) {
        return abi.encode(abi.decode(input, (AgentInput)));
    }

    function _evaluate(bytes calldata model, bytes calldata input, bytes calldata params)
        private
        pure
        returns (Evaluation memory r)
    {
        MlpPolicy.validateModel(model);
        MlpPolicy.Params memory p = abi.decode(params, (MlpPolicy.Params));
        MlpPolicy.validateParams(p);
        AgentInput memory decoded = abi.decode(input, (AgentInput));
        r.features = MlpPolicy.features(decoded);
        r.logits = MlpPolicy.forward(model, r.features);
        uint256 margin;
        (r.decision, margin) = MlpPolicy.decide(r.logits);
        r.sizeBps = MlpPolicy.sizeBps(r.decision, margin, p);
        r.output = MlpPolicy.encodeAction(r.decision, r.sizeBps, decoded, p);
    }
}
