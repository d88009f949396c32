//! Platform constants the safe reads need (`O_NONBLOCK`, so opening a FIFO
//! swapped in between `stat` and `open` never blocks).

/// `O_NONBLOCK` for the platforms we know; opening a FIFO with it never blocks.
#[cfg(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "x86",
        target_arch = "aarch64",
        target_arch = "arm",
        target_arch = "riscv64",
        target_arch = "powerpc64",
        target_arch = "powerpc",
        target_arch = "s390x",
        target_arch = "loongarch64"
    )
))]
pub(super) const O_NONBLOCK: i32 = 0o4000;
#[cfg(any(target_os = "macos", target_os = "freebsd"))]
pub(super) const O_NONBLOCK: i32 = 0x0004;
#[cfg(not(any(
    all(
        target_os = "linux",
        any(
            target_arch = "x86_64",
            target_arch = "x86",
            target_arch = "aarch64",
            target_arch = "arm",
            target_arch = "riscv64",
            target_arch = "powerpc64",
            target_arch = "powerpc",
            target_arch = "s390x",
            target_arch = "loongarch64"
        )
    ),
    target_os = "macos",
    target_os = "freebsd"
)))]
pub(super) const O_NONBLOCK: i32 = 0;
