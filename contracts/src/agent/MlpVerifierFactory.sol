// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IVerifierFactory} from "../interfaces/IVerifierFactory.sol";
import {MlpAgentVerifier} from "./MlpAgentVerifier.sol";
import {MlpPolicy} from "./MlpPolicy.sol";
import {networkAgentHash} from "./NetworkAgentVerifier.sol";
import {NetworkVerifierDeployer} from "./NetworkVerifierDeployer.sol";

/// @title MlpVerifierFactory
/// @notice Deploys the on-chain verifier of a reference-agent configuration (a WMLP model and
/// parameters), or of a large agent's (a WNET network's header and weights root, and the same
/// parameters), at an address fixed by the configuration alone, and vouches for it to task managers.
/// @dev `MlpAgentVerifier` holds no storage, makes no delegatecall and has no upgrade path, and this
/// factory deploys it with CREATE2 salted by the agent hash, which the verifier derives from the very
/// model and parameters it evaluates with. So `verifierOf(hash)` behaves as the agent `hash` commits
/// to, forever, and anyone can deploy it: a second deployment of the same configuration returns the
/// first. Ownerless.
contract MlpVerifierFactory is IVerifierFactory {
    /// @inheritdoc IVerifierFactory
    mapping(bytes32 agentHash => address verifier) public verifierOf;

    /// @notice Where large agents' verifiers are deployed (created by this factory, its only user).
    NetworkVerifierDeployer public immutable networkDeployer;

    /// @notice A verifier was deployed for `agentHash`.
    event VerifierDeployed(bytes32 indexed agentHash, address indexed verifier, bytes32 modelHash);

    constructor() {
        networkDeployer = new NetworkVerifierDeployer();
    }

    /// @notice Returns the verifier of the configuration, deploying it if it does not exist yet.
    /// @dev Reverts with `MlpPolicy`'s errors for an invalid model or parameters.
    /// @param model A WMLP v1 model.
    /// @param params The agent's parameters.
    /// @return verifier The configuration's verifier, at `predictVerifier(model, params)`.
    function deployVerifier(bytes calldata model, MlpPolicy.Params calldata params)
        external
        returns (address verifier)
    {
        bytes32 modelHash = keccak256(model);
        bytes32 agentHash = MlpPolicy.agentHash(modelHash, params);
        verifier = verifierOf[agentHash];
        if (verifier != address(0)) return verifier;
        verifier = address(new MlpAgentVerifier{salt: agentHash}(model, params));
        verifierOf[agentHash] = verifier;
        emit VerifierDeployed(agentHash, verifier, modelHash);
    }

    /// @notice Returns the verifier of a large agent's configuration, deploying it if it does not
    /// exist yet (`NetworkAgentVerifier`, deployed by `networkDeployer` with CREATE2 salted by its
    /// agent hash).
    /// @dev Reverts with `WardenNetwork.MalformedHeader`, `NetworkAgentVerifier.InputWidthMismatch`
    /// or `MlpPolicy`'s parameter errors.
    /// @param header The network file's bytes before its weights.
    /// @param weightsRoot The Merkle root of its weight chunks.
    /// @param params The decoding's parameters.
    /// @return verifier The configuration's verifier.
    function deployNetworkVerifier(
        bytes calldata header,
        bytes32 weightsRoot,
        MlpPolicy.Params calldata params
    ) external returns (address verifier) {
        (bytes32 agentHash, bytes32 networkHash) = networkAgentHash(header, weightsRoot, params);
        verifier = verifierOf[agentHash];
        if (verifier != address(0)) return verifier;
        verifier = networkDeployer.deploy(header, weightsRoot, params, agentHash);
        verifierOf[agentHash] = verifier;
        emit VerifierDeployed(agentHash, verifier, networkHash);
    }

    /// @notice Where `deployVerifier(model, params)` puts (or put) the configuration's verifier.
    /// @return verifier The CREATE2 address.
    /// @return agentHash The agent hash the verifier reports.
    function predictVerifier(bytes calldata model, MlpPolicy.Params calldata params)
        external
        view
        returns (address verifier, bytes32 agentHash)
    {
        agentHash = MlpPolicy.agentHash(keccak256(model), params);
        bytes32 initCodeHash =
            keccak256(abi.encodePacked(type(MlpAgentVerifier).creationCode, abi.encode(model, params)));
        verifier = address(
            uint160(
                uint256(keccak256(abi.encodePacked(bytes1(0xff), address(this), agentHash, initCodeHash)))
            )
        );
    }
}
