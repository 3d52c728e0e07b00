// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.27;

/// @title AddressSort
/// @notice EigenLayer takes strategies, and operators in rewards submissions, only in ascending
/// address order; Warden keeps both in the order they joined.
library AddressSort {
    /// @dev In-place quicksort (Hoare partition, middle pivot): a rewards submission may list
    /// every operator of the set, where an insertion sort's quadratic cost would show.
    function ascending(address[] memory list) internal pure {
        if (list.length > 1) _quicksort(list, 0, list.length - 1);
    }

    function _quicksort(address[] memory list, uint256 low, uint256 high) private pure {
        while (low < high) {
            address pivot = list[low + (high - low) / 2];
            uint256 i = low;
            uint256 j = high;
            while (true) {
                while (list[i] < pivot) ++i;
                while (list[j] > pivot) --j;
                if (i >= j) break;
                (list[i], list[j]) = (list[j], list[i]);
                ++i;
                --j;
            }
            // Recurse into the smaller side, loop on the larger: the stack stays logarithmic.
            if (j - low < high - j) {
                _quicksort(list, low, j);
                low = j + 1;
            } else {
                _quicksort(list, j + 1, high);
                high = j;
            }
        }
    }
}
