//! Subnormal floats flushed to zero while ONNX Runtime's kernels run, and only then. On x86 an
//! operation on a subnormal can cost ~100× a normal one, and a probability below 1e-38 is 0 for
//! every use ash has. ONNX Runtime's `session.set_denormal_as_zero` sets the CPU flags (MXCSR
//! DAZ and FTZ) on its pool threads and on the thread that creates the session; left there they
//! would change ash's own float64 checks on that thread (a subnormal price would compare equal to
//! 0 and pass). So the creating thread's flags are put back after loading, and a `Flags` guard
//! sets them around each run (with 1 intra-op thread the kernels run on the calling thread).

/// The thread's MXCSR, restored when dropped.
pub struct Flags {
    #[cfg(target_arch = "x86_64")]
    saved: u32,
}

#[cfg(target_arch = "x86_64")]
mod mxcsr {
    /// Denormals-are-zero (bit 6) and flush-to-zero (bit 15).
    pub const FLUSH: u32 = (1 << 6) | (1 << 15);

    pub fn read() -> u32 {
        let mut value = 0u32;
        // SAFETY: STMXCSR stores the 32-bit MXCSR register into the writable local `value`.
        unsafe { std::arch::asm!("stmxcsr [{}]", in(reg) &mut value, options(nostack, preserves_flags)) };
        value
    }

    pub fn write(value: u32) {
        // SAFETY: LDMXCSR loads `value`, which is a value read by STMXCSR with only the DAZ and
        // FTZ control bits changed: no reserved bit is set, so it cannot fault.
        unsafe { std::arch::asm!("ldmxcsr [{}]", in(reg) &value, options(nostack, preserves_flags)) };
    }
}

impl Flags {
    /// Keep the thread's flags as they are now, whatever happens until the guard drops.
    pub fn preserve() -> Self {
        Flags {
            #[cfg(target_arch = "x86_64")]
            saved: mxcsr::read(),
        }
    }

    /// Flush subnormals to zero until the guard drops.
    pub fn flush_to_zero() -> Self {
        let guard = Self::preserve();
        #[cfg(target_arch = "x86_64")]
        mxcsr::write(guard.saved | mxcsr::FLUSH);
        guard
    }
}

impl Drop for Flags {
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        mxcsr::write(self.saved);
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use std::hint::black_box;

    #[test]
    fn subnormals_are_flushed_inside_the_guard_and_back_after_it() {
        let tiny = black_box(1e-300f64);
        assert!((black_box(tiny) * black_box(1e-10)).is_subnormal());
        {
            let _flags = Flags::flush_to_zero();
            assert_eq!(black_box(tiny) * black_box(1e-10), 0.0);
            assert!(black_box(5e-324f64) <= black_box(0.0), "denormals-are-zero: a subnormal input reads as 0");
        }
        assert!((black_box(tiny) * black_box(1e-10)).is_subnormal());
        assert!(black_box(5e-324f64) > black_box(0.0));
    }

    #[test]
    fn preserve_restores_what_was_changed_meanwhile() {
        let before = mxcsr::read();
        {
            let _kept = Flags::preserve();
            mxcsr::write(before | mxcsr::FLUSH);
        }
        assert_eq!(mxcsr::read(), before);
    }
}
