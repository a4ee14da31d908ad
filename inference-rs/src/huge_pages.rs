//! The model's weights on 2 MiB pages. ONNX Runtime keeps a session's (prepacked) weights in
//! anonymous memory; the large model reads 13.5 MB of them per call, ~3,300 pages of 4 KiB, and
//! each call pays a TLB miss per page it touches. `MADV_COLLAPSE` (Linux ≥ 6.1) rewrites a range
//! onto transparent huge pages synchronously, whatever the system's THP mode (`madvise` here),
//! and changes no byte of it. It is called once, after a session is loaded: memory allocated
//! later stays on 4 KiB pages, so serving never stalls on the compaction `MADV_HUGEPAGE` could
//! trigger at a page fault. Measured in docs/runtime.md (issue 18, "Third pass").

use std::io;

const HUGE_PAGE: usize = 2 << 20;

/// Anonymous private read-write mappings of this process (start, end), as /proc/self/maps lists
/// them: the heap and malloc's mmap'd blocks, where ONNX Runtime's allocations live.
fn anonymous_mappings(maps: &str) -> Vec<(usize, usize)> {
    maps.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (range, perms) = (fields.next()?, fields.next()?);
            let inode = fields.nth(2)?;
            let path = fields.next().unwrap_or("");
            let anonymous = inode == "0" && (path.is_empty() || path == "[heap]");
            if !(anonymous && perms.starts_with("rw") && perms.ends_with('p')) {
                return None;
            }
            let (start, end) = range.split_once('-')?;
            Some((usize::from_str_radix(start, 16).ok()?, usize::from_str_radix(end, 16).ok()?))
        })
        .collect()
}

/// The 2 MiB-aligned part of each mapping (empty parts dropped).
fn aligned(mappings: &[(usize, usize)]) -> Vec<(usize, usize)> {
    mappings
        .iter()
        .map(|&(start, end)| (start.div_ceil(HUGE_PAGE) * HUGE_PAGE, end / HUGE_PAGE * HUGE_PAGE))
        .filter(|(start, end)| end > start)
        .collect()
}

/// Collapse every 2 MiB-aligned stretch of the process's anonymous memory onto huge pages.
/// Returns the bytes now on huge pages; an error says why none could be (an old kernel: EINVAL;
/// no memory to compact: EAGAIN/ENOMEM), and the caller reports it. Nothing changes in content.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn collapse_anonymous_memory() -> io::Result<usize> {
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    let (mut done, mut first_error) = (0usize, None);
    // One huge page per call: a range that is partly collapsed already (the heap grown since
    // the last model was loaded) or holds a page the kernel cannot move fails as a whole.
    let pages =
        aligned(&anonymous_mappings(&maps)).into_iter().flat_map(|(start, end)| (start..end).step_by(HUGE_PAGE));
    for page in pages {
        // SAFETY: the page is a whole, 2 MiB-aligned part of a mapping this process owns, read
        // from /proc/self/maps just above; MADV_COLLAPSE only moves its pages and keeps their
        // contents, so no reference into it is invalidated.
        let rc = unsafe { libc::madvise(page as *mut libc::c_void, HUGE_PAGE, libc::MADV_COLLAPSE) };
        if rc == 0 {
            done += HUGE_PAGE;
        } else if first_error.is_none() {
            first_error = Some(io::Error::last_os_error());
        }
    }
    match (done, first_error) {
        (0, Some(error)) => Err(error),
        _ => Ok(done),
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn collapse_anonymous_memory() -> io::Result<usize> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "MADV_COLLAPSE needs Linux"))
}

/// One phrase for logs: "118 MiB on huge pages" or "no huge pages (why)".
pub fn describe(outcome: &std::result::Result<usize, String>) -> String {
    match outcome {
        Ok(bytes) => format!("{} MiB on huge pages", bytes >> 20),
        Err(why) => format!("no huge pages ({why})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPS: &str = "\
55d4c0000000-55d4c0a00000 rw-p 00000000 00:00 0                          [heap]
7f0000000000-7f0000600000 rw-p 00000000 00:00 0 \n\
7f0000600000-7f0000800000 r--p 00000000 00:00 0 \n\
7f0000800000-7f0000c00000 rw-s 00000000 00:05 42                         /dev/shm/x
7f0001000000-7f0001400000 rw-p 00000000 08:01 1234                       /usr/lib/libfoo.so
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
";

    #[test]
    fn only_anonymous_private_writable_mappings_are_candidates() {
        assert_eq!(
            anonymous_mappings(MAPS),
            [(0x55d4_c000_0000, 0x55d4_c0a0_0000), (0x7f00_0000_0000, 0x7f00_0060_0000)]
        );
    }

    #[test]
    fn the_outcome_reads_as_one_phrase() {
        assert_eq!(describe(&Ok(118 << 20)), "118 MiB on huge pages");
        assert_eq!(describe(&Err("Invalid argument".into())), "no huge pages (Invalid argument)");
    }

    #[test]
    fn ranges_shrink_to_whole_huge_pages() {
        let mb = 1 << 20;
        assert_eq!(aligned(&[(mb, 7 * mb)]), [(2 * mb, 6 * mb)]);
        assert!(aligned(&[(mb, 3 * mb)]).is_empty());
    }

    #[test]
    fn collapsing_keeps_every_byte() {
        let data: Vec<u64> = (0..(8 << 20) / 8).map(|i| i * 2_654_435_761).collect();
        let before: u64 = data.iter().fold(0, |a, v| a.wrapping_add(*v));
        // Whether the kernel can collapse here or not, the contents must be unchanged; and what
        // it says it collapsed must show in the process's huge-page count.
        let outcome = collapse_anonymous_memory();
        assert_eq!(data.iter().fold(0u64, |a, v| a.wrapping_add(*v)), before);
        if let Ok(bytes) = outcome {
            let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap();
            let huge_kb: usize = rollup
                .lines()
                .find_map(|l| l.strip_prefix("AnonHugePages:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap();
            assert!(bytes == 0 || huge_kb >= 2048, "collapsed {bytes} bytes but AnonHugePages is {huge_kb} kB");
        }
    }
}
