// A single-writer sequence lock over shared memory (Boehm, "Can seqlocks get
// along with programming language memory models?"): the payload is relaxed
// atomics, the fences order it against the sequence word. Readers never block
// the writer; a reader that cannot get a clean copy in a few tries gives up.
#pragma once

#include <atomic>
#include <cstdint>

namespace causeway::shm {

// Writer side. Returns the odd value now in `seq`. If a previous writer died
// mid-write (seq already odd) the new write simply completes that sequence.
inline std::uint64_t seqlock_write_begin(std::atomic<std::uint64_t>& seq) noexcept
{
    std::uint64_t s = seq.load(std::memory_order_relaxed);
    if ((s & 1) == 0) seq.store(++s, std::memory_order_relaxed);
    // Orders the odd store before every payload store that follows: a reader
    // that sees any new payload word (and fences) then sees seq odd or newer.
    std::atomic_thread_fence(std::memory_order_release);
    return s;
}

inline void seqlock_write_end(std::atomic<std::uint64_t>& seq, std::uint64_t odd) noexcept
{
    // Release: the payload stores happen before a reader's acquire of odd + 1.
    seq.store(odd + 1, std::memory_order_release);
}

// Reader side: begin, copy the payload with relaxed loads, then validate.
inline std::uint64_t seqlock_read_begin(const std::atomic<std::uint64_t>& seq) noexcept
{
    return seq.load(std::memory_order_acquire);   // payload loads stay after this
}

inline bool seqlock_read_valid(const std::atomic<std::uint64_t>& seq, std::uint64_t begin) noexcept
{
    // Keeps the payload loads before the re-read of seq.
    std::atomic_thread_fence(std::memory_order_acquire);
    return (begin & 1) == 0 && seq.load(std::memory_order_relaxed) == begin;
}

// Attempts a reader makes before it reports a torn read. A write takes well
// under a microsecond, so failing this many times means a writer died mid-write
// or is being hammered; either way the caller treats the data as unknown.
inline constexpr int seqlock_max_attempts = 32;

inline void cpu_relax() noexcept
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield" ::: "memory");
#endif
}

}   // namespace causeway::shm
