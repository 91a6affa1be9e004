//! The global allocator of the binary and the benchmarks: mimalloc, called
//! the way the system allocator is.
//!
//! Mapping allocates many small strings, often freed on another thread;
//! mimalloc cut the CPU time of read + map by about a sixth
//! (`benches/read.rs`). The `mimalloc` crate's allocator asks for every
//! block with `mi_malloc_aligned`, even when the alignment is one that
//! every block has: that costs about 70 instructions a block to the 20 or
//! so of `mi_malloc` (callgrind: 2 million blocks for 100,000 CSV lines),
//! and a block over 1 KiB whose size is not a power of two is then
//! allocated larger and its page marked as holding interior pointers,
//! which slows every free on it. Every mimalloc block is aligned to the
//! machine word (sizes are whole words, pages start aligned), so [`Mi`]
//! takes the plain calls for layouts that need no more than that, and the
//! aligned ones otherwise.
//!
//! mimalloc is built with `no_thp` (Cargo.toml): without it, it asks the
//! kernel for transparent huge pages on its arenas, and every 2 MiB page
//! it touches, and touches again after handing memory back, is zeroed
//! whole. On the 1,000,000-line quoted register that was 0.25–0.32 s of
//! system time against 0.11–0.15 s, and the whole run about 6% slower
//! (interleaved runs, BENCHMARKS.md, session 12); on a 200,000-row XLSX
//! 1.68 s against 1.47 s, and 67 MB of peak memory against 53.

use libmimalloc_sys as mi;
use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

/// The alignment every mimalloc block has: a machine word.
const PLAIN_ALIGN: usize = std::mem::size_of::<usize>();

/// Whether the plain calls give a block the alignment `align`.
fn plain(align: usize) -> bool {
    align <= PLAIN_ALIGN
}

/// mimalloc, with the plain calls where they give the alignment asked for.
pub struct Mi;

// SAFETY: every block comes from mimalloc and goes back to it (`mi_free`
// frees blocks of both the plain and the aligned calls); the plain calls
// are used only for layouts whose alignment they guarantee.
unsafe impl GlobalAlloc for Mi {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if plain(layout.align()) {
            mi::mi_malloc(layout.size()).cast()
        } else {
            mi::mi_malloc_aligned(layout.size(), layout.align()).cast()
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if plain(layout.align()) {
            mi::mi_zalloc(layout.size()).cast()
        } else {
            mi::mi_zalloc_aligned(layout.size(), layout.align()).cast()
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        mi::mi_free(ptr.cast::<c_void>());
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if plain(layout.align()) {
            mi::mi_realloc(ptr.cast::<c_void>(), new_size).cast()
        } else {
            mi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks of every small size and alignment come back aligned as
    /// asked, keep what was written in them through a realloc, and come
    /// back zeroed from `alloc_zeroed`.
    #[test]
    fn blocks_are_aligned_and_kept() {
        for align in [1usize, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1usize, 3, 7, 8, 15, 16, 17, 24, 31, 33, 100, 5000] {
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: a non-zero size; the block is written within its
                // size and freed with its own layout.
                unsafe {
                    let p = Mi.alloc(layout);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size} align {align}");
                    for i in 0..size {
                        *p.add(i) = i as u8;
                    }
                    let grown = size * 3 + 1;
                    let q = Mi.realloc(p, layout, grown);
                    assert_eq!(q as usize % align, 0, "realloc {grown} align {align}");
                    for i in 0..size {
                        assert_eq!(*q.add(i), i as u8);
                    }
                    Mi.dealloc(q, Layout::from_size_align(grown, align).unwrap());
                    let z = Mi.alloc_zeroed(layout);
                    assert_eq!(z as usize % align, 0);
                    assert!((0..size).all(|i| *z.add(i) == 0));
                    Mi.dealloc(z, layout);
                }
            }
        }
    }
}
