//! The wasm build's memory allocator: power-of-two size classes, each with
//! its own free list, carved from memory the module grows page by page.
//!
//! Rust's default allocator for wasm (dlmalloc) is about 8 KB of code, a
//! tenth of the module. A page's cairn allocates small, short-lived strings
//! and a few buffers that double as they grow, one thread only: size classes
//! serve that with a few hundred bytes. A freed block goes back to its
//! class's list and is reused by the next request of that class; blocks are
//! never split or merged, so memory in use stays under twice what is live
//! per class (the queue's size limits bound what is live). Memory is never
//! given back to the browser, as with dlmalloc.
//!
//! The logic ([`Heap`]) is plain code over addresses, tested on the host;
//! `WasmAllocator` (wasm32 only) wraps it around `memory.grow`.

/// Smallest block: 16 bytes (2^4), enough for the free list's link and the
/// alignment of every type cairn allocates.
const MIN_SHIFT: u32 = 4;
/// Classes 2^4 .. 2^31 bytes.
const CLASSES: usize = 28;
/// A wasm memory page.
pub const PAGE: usize = 65_536;

/// Where a [`Heap`] gets more memory from.
pub trait Grow {
    /// Adds `pages` pages of zeroed memory; returns the address where they
    /// start, or `None` if the memory cannot grow.
    fn grow(&mut self, pages: usize) -> Option<usize>;
}

/// Size-class allocator state over raw addresses.
pub struct Heap<G> {
    free: [usize; CLASSES],
    top: usize,
    end: usize,
    grow: G,
}

/// The class of a request: blocks of 2^(class + 4) bytes. `None` if too big.
fn class_of(size: usize, align: usize) -> Option<usize> {
    let size = size
        .max(align)
        .max(1 << MIN_SHIFT)
        .checked_next_power_of_two()?;
    let class = (size.trailing_zeros() - MIN_SHIFT) as usize;
    (class < CLASSES).then_some(class)
}

impl<G: Grow> Heap<G> {
    /// An empty heap that takes its memory from `grow`.
    pub const fn new(grow: G) -> Self {
        Heap {
            free: [0; CLASSES],
            top: 0,
            end: 0,
            grow,
        }
    }

    /// Address of a new block for `size` bytes aligned to `align` (a power
    /// of two), or 0 if memory is exhausted.
    ///
    /// # Safety
    /// Every address this heap handed out and that is not yet freed must be
    /// memory only this heap writes its links into when freed; `grow` must
    /// return memory nothing else uses.
    pub unsafe fn alloc(&mut self, size: usize, align: usize) -> usize {
        let Some(class) = class_of(size, align) else {
            return 0;
        };
        let head = self.free[class];
        if head != 0 && head.is_multiple_of(align) {
            // SAFETY: `head` is a freed block of this class; its first word
            // holds the next free block's address (written by `dealloc`).
            self.free[class] = unsafe { (head as *const usize).read() };
            return head;
        }
        let block = 1usize << (class as u32 + MIN_SHIFT);
        // Blocks start on 16 bytes, or on `align` when it asks more.
        let step = align.max(1 << MIN_SHIFT);
        let aligned = |top: usize| top.checked_add(step - 1).map(|t| t & !(step - 1));
        let Some(start) = aligned(self.top) else {
            return 0;
        };
        let Some(new_top) = start.checked_add(block) else {
            return 0;
        };
        if new_top <= self.end && self.top != 0 {
            self.top = new_top;
            return start;
        }
        // Grow by what the block needs plus room for more (16 pages, 1 MB).
        let pages = block.div_ceil(PAGE) + 1 + 16;
        let Some(at) = self.grow.grow(pages) else {
            return 0;
        };
        if at != self.end || self.top == 0 {
            // Not contiguous with what we had: start over from the new pages
            // (the rest of the old region is left unused).
            self.top = at;
        }
        self.end = at.saturating_add(pages * PAGE);
        let Some(start) = aligned(self.top) else {
            return 0;
        };
        match start.checked_add(block) {
            Some(new_top) if new_top <= self.end => {
                self.top = new_top;
                start
            }
            _ => 0,
        }
    }

    /// Gives back a block from [`Heap::alloc`] with the same `size` and `align`.
    ///
    /// # Safety
    /// `addr` must come from `alloc(size, align)` on this heap and not be
    /// freed already.
    pub unsafe fn dealloc(&mut self, addr: usize, size: usize, align: usize) {
        if let Some(class) = class_of(size, align) {
            // SAFETY: the block is at least 16 bytes, 16-aligned, and ours again.
            unsafe { (addr as *mut usize).write(self.free[class]) };
            self.free[class] = addr;
        }
    }

    /// Whether a block from `alloc(old, align)` also holds `new` bytes (same
    /// class), so a resize can keep it.
    pub fn fits(old: usize, new: usize, align: usize) -> bool {
        class_of(old, align).is_some() && class_of(old, align) == class_of(new, align)
    }
}

#[cfg(target_arch = "wasm32")]
mod wasm {
    use core::alloc::{GlobalAlloc, Layout};
    use core::cell::UnsafeCell;

    use super::{Grow, Heap, PAGE};

    /// `memory.grow` on the module's memory.
    pub struct MemoryGrow;

    impl Grow for MemoryGrow {
        fn grow(&mut self, pages: usize) -> Option<usize> {
            let prev = core::arch::wasm32::memory_grow(0, pages);
            (prev != usize::MAX).then(|| prev * PAGE)
        }
    }

    /// The global allocator of the wasm build (see the module's docs).
    pub struct WasmAllocator(UnsafeCell<Heap<MemoryGrow>>);

    // SAFETY: the wasm build runs on one thread (no atomics, no workers
    // sharing this memory), so the heap is never used concurrently.
    unsafe impl Sync for WasmAllocator {}

    impl WasmAllocator {
        /// An allocator with nothing allocated yet.
        pub const fn new() -> Self {
            WasmAllocator(UnsafeCell::new(Heap::new(MemoryGrow)))
        }
    }

    impl Default for WasmAllocator {
        fn default() -> Self {
            Self::new()
        }
    }

    unsafe impl GlobalAlloc for WasmAllocator {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: one thread; the heap's memory is only ours.
            unsafe { (*self.0.get()).alloc(layout.size(), layout.align()) as *mut u8 }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: `ptr` came from `alloc` with `layout` (GlobalAlloc's contract).
            unsafe { (*self.0.get()).dealloc(ptr as usize, layout.size(), layout.align()) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            if Heap::<MemoryGrow>::fits(layout.size(), new_size, layout.align()) {
                return ptr;
            }
            // SAFETY: as GlobalAlloc's default realloc: a new block, the
            // smaller of the two sizes copied, the old block freed.
            unsafe {
                let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
                let new = self.alloc(new_layout);
                if !new.is_null() {
                    core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                    self.dealloc(ptr, layout);
                }
                new
            }
        }
    }
}

#[cfg(target_arch = "wasm32")]
pub use wasm::{MemoryGrow, WasmAllocator};

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages from a host buffer, as `memory.grow` would give them.
    struct Arena {
        base: usize,
        used: usize,
        pages: usize,
    }

    impl Grow for Arena {
        fn grow(&mut self, pages: usize) -> Option<usize> {
            if self.used + pages > self.pages {
                return None;
            }
            let at = self.base + self.used * PAGE;
            self.used += pages;
            Some(at)
        }
    }

    fn heap(buf: &mut [u128]) -> Heap<Arena> {
        let base = (buf.as_mut_ptr() as usize).next_multiple_of(PAGE);
        let pages = (buf.len() * 16 - (base - buf.as_ptr() as usize)) / PAGE;
        Heap::new(Arena {
            base,
            used: 0,
            pages,
        })
    }

    #[test]
    fn blocks_are_aligned_distinct_and_reused() {
        let mut buf = vec![0u128; 64 * PAGE / 16];
        let mut h = heap(&mut buf);
        unsafe {
            let a = h.alloc(10, 1);
            let b = h.alloc(10, 8);
            let c = h.alloc(100, 4);
            assert!(a != 0 && b != 0 && c != 0);
            assert_eq!((a % 16, b % 16, c % 16), (0, 0, 0));
            assert!(b >= a + 16 && c >= b + 16, "blocks do not overlap");
            h.dealloc(b, 10, 8);
            assert_eq!(h.alloc(16, 1), b, "a freed block serves its class again");
            let big = h.alloc(200_000, 1);
            assert!(big != 0 && big.is_multiple_of(16));
            let d = h.alloc(32, 64);
            assert_eq!(d % 64, 0, "alignment above 16 is honoured");
            h.dealloc(d, 32, 64);
            let e = h.alloc(64, 16);
            assert_eq!(e, d, "same class");
        }
        assert!(Heap::<Arena>::fits(17, 32, 8) && !Heap::<Arena>::fits(32, 33, 8));
    }

    #[test]
    fn random_use_never_overlaps_live_blocks() {
        let mut buf = vec![0u128; 256 * PAGE / 16];
        let mut h = heap(&mut buf);
        let mut live: Vec<(usize, usize, u8)> = Vec::new();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..20_000u32 {
            let r = next();
            if live.len() > 200 || (r % 3 == 0 && !live.is_empty()) {
                let (addr, size, mark) = live.swap_remove((r >> 8) as usize % live.len());
                // SAFETY: `addr` is a live block of `size` bytes from `h`.
                unsafe {
                    let bytes = core::slice::from_raw_parts(addr as *const u8, size);
                    assert!(
                        bytes.iter().all(|&b| b == mark),
                        "a live block was overwritten"
                    );
                    h.dealloc(addr, size, 8);
                }
            } else {
                let size = 1 + (r >> 16) as usize % if r % 7 == 0 { 20_000 } else { 300 };
                // SAFETY: the heap's memory is the test's buffer.
                let addr = unsafe { h.alloc(size, 8) };
                assert_ne!(addr, 0, "round {round}");
                let mark = round as u8;
                // SAFETY: a fresh block of at least `size` bytes.
                unsafe { core::ptr::write_bytes(addr as *mut u8, mark, size) };
                live.push((addr, size, mark));
            }
        }
    }

    #[test]
    fn exhaustion_and_huge_requests_give_null() {
        let mut buf = vec![0u128; 40 * PAGE / 16];
        let mut h = heap(&mut buf);
        unsafe {
            assert_eq!(h.alloc(usize::MAX, 1), 0);
            assert_eq!(h.alloc(1 << 40, 1), 0);
            assert_eq!(h.alloc(100 * PAGE, 1), 0, "more than the arena has");
            assert_ne!(h.alloc(100, 1), 0, "smaller requests still work");
        }
    }
}
