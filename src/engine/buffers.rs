//! Buffers for the audio thread: allocated up front, and mapped before the first
//! `process` call so that no page fault lands on the audio thread.

/// Touches every memory page of `buffer` once. Zeroed allocations are mapped lazily by
/// the OS, so their first write would page-fault on the audio thread; a volatile write
/// (which no optimiser drops, unlike a zero-fill of zeroed memory) maps them now.
pub fn prefault<T: Copy>(buffer: &mut [T]) {
    let step = (4096 / std::mem::size_of::<T>().max(1)).max(1);
    for i in (0..buffer.len()).step_by(step) {
        let p: *mut T = &mut buffer[i];
        // SAFETY: `p` points at a live, initialised element of `buffer`; writing its own
        // value back changes nothing.
        unsafe { std::ptr::write_volatile(p, std::ptr::read_volatile(p)) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefault_leaves_the_values_as_they_were() {
        let mut buffer: Vec<f32> = (0..10_000).map(|i| i as f32).collect();
        prefault(&mut buffer);
        assert!(buffer.iter().enumerate().all(|(i, x)| *x == i as f32));
    }
}
