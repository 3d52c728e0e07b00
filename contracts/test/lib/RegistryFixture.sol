// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {BLS} from "solady/utils/ext/ithaca/BLS.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {WardenRegistry} from "../../src/WardenRegistry.sol";
import {DeregisterParams, OperatorSet} from "../../src/interfaces/IEigenLayer.sol";
import {RegistryParams} from "../../src/interfaces/IWardenRegistry.sol";
import {BLSTestKeys} from "./BLSTestKeys.sol";
import {EigenLayerTest, IAllocationManagerTest, RegisterParams} from "./EigenLayerTest.sol";

/// @dev A WardenRegistry wired to the real EigenLayer core, with helpers that take operators
/// through EigenLayer's own registration flow (so every registrar callback comes from the
/// AllocationManager exactly as in production).
abstract contract RegistryFixture is EigenLayerTest {
    /// @dev Order of the BLS12-381 groups: secret keys live in [1, R).
    uint256 internal constant R = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001;

    // The field modulus p in EIP-2537's split: 16 bytes of padding, then 48 bytes.
    bytes32 internal constant P_HI = 0x000000000000000000000000000000001a0111ea397fe69a4b1ba7b6434bacd7;
    bytes32 internal constant P_LO = 0x64774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab;

    /// @dev G1 point (4, sqrt(4^3 + 4)): on the curve but, as the cofactor is not 1, outside the
    /// prime-order subgroup (r·P != 0, checked offline).
    bytes32 internal constant G1_NOT_IN_SUBGROUP_Y_A =
        0x000000000000000000000000000000000a989badd40d6212b33cffc3f3763e9b;
    bytes32 internal constant G1_NOT_IN_SUBGROUP_Y_B =
        0xc760f988c9926b26da9dd85e928483446346b8ed00e1de5d5ea93e354abe706c;

    /// @dev G2 point with x = 1 + i on the curve y^2 = x^3 + 4(1 + i), outside the subgroup.
    bytes32 internal constant G2_NOT_IN_SUBGROUP_Y_C0_A =
        0x0000000000000000000000000000000002066bca274eb64b2410222895b74ace;
    bytes32 internal constant G2_NOT_IN_SUBGROUP_Y_C0_B =
        0xc54cf001baf6c7aeeff616820743dce87eddb1700e7a2d717dc4cea5582195e1;
    bytes32 internal constant G2_NOT_IN_SUBGROUP_Y_C1_A =
        0x000000000000000000000000000000001934ffa59d993a4bcbe529440126a8af;
    bytes32 internal constant G2_NOT_IN_SUBGROUP_Y_C1_B =
        0x9f7bff4bc127e15ab9f75688bf07e7157d06cb8933608b225495cba14be0d33d;

    address private constant G1ADD = address(0x0b);
    address private constant G2ADD = address(0x0d);
    /// @dev Enough for G1ADD/G2ADD; a rejecting precompile burns all it is given.
    uint256 private constant PRECOMPILE_PROBE_GAS = 1000;

    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);
    address internal constant CAROL = address(0xCA201);
    address internal constant DAVE = address(0xDA5E);

    /// @dev The registry's parameters in every test: sized to the task manager fixture's windows
    /// (response 10 + challenge 20 + slashing 100 + age 50 + 1 <= horizon 300 <= withdrawal delay).
    uint96 internal constant MINIMUM_WEIGHT = 1 ether;
    uint32 internal constant MAX_OPERATORS = 128;
    uint32 internal constant WEIGHT_HORIZON = 300;
    uint32 internal constant MAX_WEIGHT_AGE = 50;
    uint32 internal constant EJECTION_LIMIT = 3;
    uint32 internal constant EJECTION_WINDOW = 100;

    /// @dev Where slashed stake goes in these tests (Warden's restitution contract in a deployment).
    address internal constant REDISTRIBUTION_RECIPIENT = address(0x7E5717);

    WardenRegistry internal registry;

    /// @dev The most operators the test's registry holds; a test that needs more overrides it.
    function maxOperators() internal view virtual returns (uint32) {
        return MAX_OPERATORS;
    }

    function registryParams() internal view returns (RegistryParams memory) {
        return RegistryParams({
            minimumWeight: MINIMUM_WEIGHT,
            maxOperators: maxOperators(),
            weightHorizon: WEIGHT_HORIZON,
            maxWeightAge: MAX_WEIGHT_AGE,
            ejectionLimit: EJECTION_LIMIT,
            ejectionWindow: EJECTION_WINDOW
        });
    }

    function deployRegistry() internal {
        deployRegistryWithoutSet();
        createOperatorSet(REDISTRIBUTION_RECIPIENT);
    }

    /// @dev EigenLayer and the registry, without Warden's operator set: its redistribution recipient,
    /// fixed when it is created, may not exist yet.
    function deployRegistryWithoutSet() internal {
        deployEigenLayer();
        registry = new WardenRegistry(allocationManager, address(this), registryParams());
    }

    function createOperatorSet(address redistributionRecipient) internal {
        registry.configureAVS("https://warden.invalid/test.json", strategyList(), redistributionRecipient);
    }

    // ------------------------------------------------------------------------------------------
    // EigenLayer side
    // ------------------------------------------------------------------------------------------

    /// @dev Makes each address an EigenLayer operator with its stake, fully allocated to Warden's set.
    /// One roll covers the allocation-delay wait of the whole batch.
    function prepareOperators(address[] memory operators, uint256[] memory stakes) internal {
        for (uint256 i; i < operators.length; ++i) {
            becomeOperatorWithStake(operators[i], stakes[i]);
        }
        vm.roll(block.number + ALLOCATION_CONFIGURATION_DELAY + 1);
        for (uint256 i; i < operators.length; ++i) {
            allocateAll(operators[i], address(registry), registry.OPERATOR_SET_ID());
        }
    }

    function prepareOperator(address operator, uint256 stake) internal {
        address[] memory operators = new address[](1);
        operators[0] = operator;
        uint256[] memory stakes = new uint256[](1);
        stakes[0] = stake;
        prepareOperators(operators, stakes);
    }

    /// @dev Deposits more stake for an operator that is delegated to itself.
    function depositMore(address operator, uint256 amount) internal {
        stakeToken.mint(operator, amount);
        vm.startPrank(operator);
        stakeToken.approve(address(strategyManager), amount);
        strategyManager.depositIntoStrategy(address(strategy), address(stakeToken), amount);
        vm.stopPrank();
    }

    function wardenSet() internal pure returns (uint32[] memory ids) {
        ids = new uint32[](1);
    }

    /// @dev What EigenLayer would let Warden slash from `operator` now.
    function slashableStake(address operator) internal view returns (uint256) {
        return allocationManager.getMinimumSlashableStake(
            OperatorSet({avs: address(registry), id: registry.OPERATOR_SET_ID()}),
            list(operator),
            strategyList(),
            uint32(block.number)
        )[0][0];
    }

    /// @dev The operator's delegated shares in the strategy, as EigenLayer's DelegationManager counts.
    function operatorShares(address operator) internal view returns (uint256) {
        return delegation.getOperatorShares(operator, strategyList())[0];
    }

    /// @dev The operator's weight in the registry now.
    function weightOf(address operator) internal view returns (uint256 weight) {
        (, weight) = registry.operatorAt(registry.operatorIdOf(operator), uint32(block.number));
    }

    // ------------------------------------------------------------------------------------------
    // Registration
    // ------------------------------------------------------------------------------------------

    /// @dev abi.encode(public key, proof of possession) as an operator's client would build it.
    function registrationData(address operator, uint256 secretKey) internal view returns (bytes memory) {
        BLS.G1Point memory publicKey = BLSTestKeys.publicKey(secretKey);
        return abi.encode(
            publicKey, BLSTestKeys.sign(secretKey, registry.proofOfPossessionMessage(operator, publicKey))
        );
    }

    /// @dev The AllocationManager call an operator makes to join Warden's set with `data`.
    function registerCalldata(address operator, bytes memory data) internal view returns (bytes memory) {
        return abi.encodeCall(
            IAllocationManagerTest.registerForOperatorSets,
            (operator, RegisterParams({avs: address(registry), operatorSetIds: wardenSet(), data: data}))
        );
    }

    /// @dev Joins the set through EigenLayer. Makes no other external call, so an expectRevert set
    /// just before applies to the registration itself.
    function registerWithData(address operator, bytes memory data) internal {
        vm.prank(operator);
        allocationManager.registerForOperatorSets(
            operator, RegisterParams({avs: address(registry), operatorSetIds: wardenSet(), data: data})
        );
    }

    /// @dev Registers an already prepared operator with its key.
    function register(address operator, uint256 secretKey) internal returns (BLS.G1Point memory publicKey) {
        publicKey = BLSTestKeys.publicKey(secretKey);
        registerWithData(operator, registrationData(operator, secretKey));
    }

    /// @dev The whole flow for one operator: stake, allocate, register.
    function registerOperator(address operator, uint256 secretKey, uint256 stake)
        internal
        returns (BLS.G1Point memory)
    {
        prepareOperator(operator, stake);
        return register(operator, secretKey);
    }

    function deregister(address operator) internal {
        vm.prank(operator);
        allocationManager.deregisterFromOperatorSets(
            DeregisterParams({operator: operator, avs: address(registry), operatorSetIds: wardenSet()})
        );
    }

    /// @dev Prepares Alice, Bob, Carol and Dave (stakes 100, 200, 300 and 400 ether), registers
    /// the first three in one block, refreshes the weights and moves one block on, so that block can
    /// be a reference block.
    function registerTrio() internal returns (uint32 referenceBlock) {
        uint256[] memory stakes = new uint256[](4);
        for (uint256 i; i < 4; ++i) {
            stakes[i] = (i + 1) * 100 ether;
        }
        prepareOperators(list(ALICE, BOB, CAROL, DAVE), stakes);
        register(ALICE, skOf(ALICE));
        register(BOB, skOf(BOB));
        register(CAROL, skOf(CAROL));
        registry.refreshWeights();
        referenceBlock = uint32(block.number);
        vm.roll(block.number + 1);
    }

    function list(address a) internal pure returns (address[] memory l) {
        l = new address[](1);
        l[0] = a;
    }

    function list(address a, address b) internal pure returns (address[] memory l) {
        l = new address[](2);
        (l[0], l[1]) = (a, b);
    }

    function list(address a, address b, address c) internal pure returns (address[] memory l) {
        l = new address[](3);
        (l[0], l[1], l[2]) = (a, b, c);
    }

    function list(address a, address b, address c, address d) internal pure returns (address[] memory l) {
        l = new address[](4);
        (l[0], l[1], l[2], l[3]) = (a, b, c, d);
    }

    // ------------------------------------------------------------------------------------------
    // Keys and signatures
    // ------------------------------------------------------------------------------------------

    /// @dev The secret key the fixture gives a named operator.
    /// @dev The positions of `ids` in the registry's operator id list, in their order.
    function indicesOfIds(bytes32[] memory ids) internal view returns (uint32[] memory indices) {
        indices = new uint32[](ids.length);
        // No call for no ids: a test may compute this between a prank or expectRevert and its call.
        if (ids.length == 0) return indices;
        uint256 count = registry.operatorIdCount();
        for (uint256 i; i < ids.length; ++i) {
            uint256 j;
            while (j < count && registry.operatorIds(j) != ids[i]) ++j;
            require(j < count, "not a registered operator id");
            indices[i] = SafeCast.toUint32(j);
        }
    }

    function skOf(address operator) internal pure returns (uint256) {
        return secretKeyOf(uint160(operator));
    }

    function pkOf(address operator) internal view returns (BLS.G1Point memory) {
        return BLSTestKeys.publicKey(skOf(operator));
    }

    /// @dev The aggregate signature of `signers` (fixture keys) over `message`.
    function signBy(address[] memory signers, bytes32 message) internal view returns (BLS.G2Point memory) {
        uint256[] memory secretKeys = new uint256[](signers.length);
        for (uint256 i; i < signers.length; ++i) {
            secretKeys[i] = skOf(signers[i]);
        }
        return signAll(secretKeys, message);
    }

    /// @dev The fixture keys of `operators`, sorted as checkQuorum requires.
    function nonSignersOf(address[] memory operators) internal view returns (BLS.G1Point[] memory keys) {
        keys = new BLS.G1Point[](operators.length);
        for (uint256 i; i < operators.length; ++i) {
            keys[i] = pkOf(operators[i]);
        }
        sortByOperatorId(keys);
    }

    /// @dev Sum of the fixture public keys of `operators`, computed as (sum of secret keys)·G so it
    /// does not share code with the registry's G1 additions.
    function aggregateKeyOf(address[] memory operators) internal view returns (BLS.G1Point memory) {
        uint256 sum;
        for (uint256 i; i < operators.length; ++i) {
            sum = addmod(sum, skOf(operators[i]), R);
        }
        if (sum == 0) return BLS.G1Point(0, 0, 0, 0);
        return BLSTestKeys.publicKey(sum);
    }

    /// @dev A deterministic secret key in [1, R) for operator number `i`.
    function secretKeyOf(uint256 i) internal pure returns (uint256) {
        return 1 + uint256(keccak256(abi.encode("warden test key", i))) % (R - 1);
    }

    function idOf(BLS.G1Point memory publicKey) internal pure returns (bytes32) {
        return keccak256(abi.encode(publicKey));
    }

    /// @dev The aggregate signature of all `secretKeys` over `message`: as BLS is linear in the
    /// key, it is the signature of their sum mod R (one MSM instead of one per signer).
    function signAll(uint256[] memory secretKeys, bytes32 message)
        internal
        view
        returns (BLS.G2Point memory)
    {
        uint256 sum;
        for (uint256 i; i < secretKeys.length; ++i) {
            sum = addmod(sum, secretKeys[i], R);
        }
        return BLSTestKeys.sign(sum, message);
    }

    /// @dev Sorts keys by operator id ascending, the order checkQuorum requires of non-signers.
    function sortByOperatorId(BLS.G1Point[] memory keys) internal pure returns (BLS.G1Point[] memory) {
        for (uint256 i = 1; i < keys.length; ++i) {
            BLS.G1Point memory key = keys[i];
            bytes32 id = idOf(key);
            uint256 j = i;
            while (j > 0 && idOf(keys[j - 1]) > id) {
                keys[j] = keys[j - 1];
                --j;
            }
            keys[j] = key;
        }
        return keys;
    }

    function g1Add(BLS.G1Point memory a, BLS.G1Point memory b) internal view returns (BLS.G1Point memory) {
        return BLS.add(a, b);
    }

    /// @dev Whether the G1ADD precompile, which checks the curve equation but not the subgroup,
    /// accepts `point`.
    function isOnG1Curve(BLS.G1Point memory point) internal view returns (bool ok) {
        (ok,) = G1ADD.staticcall{gas: PRECOMPILE_PROBE_GAS}(abi.encode(point, BLS.G1Point(0, 0, 0, 0)));
    }

    /// @dev Whether the G2ADD precompile, which checks the curve equation but not the subgroup,
    /// accepts `point`.
    function isOnG2Curve(BLS.G2Point memory point) internal view returns (bool ok) {
        (ok,) = G2ADD.staticcall{gas: PRECOMPILE_PROBE_GAS}(
            abi.encode(point, BLS.G2Point(0, 0, 0, 0, 0, 0, 0, 0))
        );
    }

    function g1NotInSubgroup() internal pure returns (BLS.G1Point memory) {
        return BLS.G1Point(0, bytes32(uint256(4)), G1_NOT_IN_SUBGROUP_Y_A, G1_NOT_IN_SUBGROUP_Y_B);
    }

    function g2NotInSubgroup() internal pure returns (BLS.G2Point memory) {
        return BLS.G2Point(
            0,
            bytes32(uint256(1)),
            0,
            bytes32(uint256(1)),
            G2_NOT_IN_SUBGROUP_Y_C0_A,
            G2_NOT_IN_SUBGROUP_Y_C0_B,
            G2_NOT_IN_SUBGROUP_Y_C1_A,
            G2_NOT_IN_SUBGROUP_Y_C1_B
        );
    }

    /// @dev Canonical coordinates (all ones) that do not satisfy the G2 curve equation.
    function g2OffCurve() internal pure returns (BLS.G2Point memory) {
        bytes32 one = bytes32(uint256(1));
        return BLS.G2Point(0, one, 0, one, 0, one, 0, one);
    }

    function assertG1Eq(BLS.G1Point memory a, BLS.G1Point memory b, string memory message) internal pure {
        assertEq(keccak256(abi.encode(a)), keccak256(abi.encode(b)), message);
    }

    /// @dev Low-level call with a gas limit, returning the revert data and the gas it consumed
    /// (measured by the caller, so it includes the call's own overhead).
    function callMeasured(address target, bytes memory data, uint256 gasLimit)
        internal
        returns (bool ok, bytes memory returned, uint256 used)
    {
        uint256 before = gasleft();
        (ok, returned) = target.call{gas: gasLimit}(data);
        used = before - gasleft();
    }

    /// @dev The gas a transaction sending `data` pays when its call uses `executionGas` (before
    /// refunds) and earns `refunded`: 21 000 + calldata at EIP-2028 prices + execution - refund (at most
    /// a fifth, EIP-3529), or the EIP-7623 calldata floor if that is higher. The called account is warm
    /// in a transaction (it is `tx.to`), so nothing is added for reaching it.
    function transactionGas(bytes memory data, uint256 executionGas, int256 refunded)
        internal
        pure
        returns (uint256)
    {
        uint256 zeros;
        for (uint256 i; i < data.length; ++i) {
            if (data[i] == 0) ++zeros;
        }
        uint256 nonZeros = data.length - zeros;
        uint256 standard = 21_000 + 4 * zeros + 16 * nonZeros + executionGas;
        uint256 refund = refunded > 0 ? uint256(refunded) : 0;
        if (refund > standard / 5) refund = standard / 5;
        standard -= refund;
        uint256 floor = 21_000 + 10 * (zeros + 4 * nonZeros);
        return standard > floor ? standard : floor;
    }
}
