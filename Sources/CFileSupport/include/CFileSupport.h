#ifndef CFILESUPPORT_H
#define CFILESUPPORT_H

#include <stdint.h>
#include <stddef.h>

/// Asks the kernel to start writing `[offset, offset + count)` of `fd` to disk without waiting
/// (Linux `sync_file_range(SYNC_FILE_RANGE_WRITE)`), so that the fsync at the end of a large
/// write finds most pages already on their way. A hint: returns 0 and does nothing where the
/// call does not exist; errors are ignored because the final fsync reports them.
int effnet_start_writeback(int fd, int64_t offset, int64_t count);

// MARK: Guarded memory maps (map_guard.c)

/// Registers `[base, base + length)`, a read-only file map, with the SIGBUS guard (installed on
/// first use). When a read inside it faults because the file shrank, the guard puts zero pages
/// over the rest of the map, marks the slot and lets the read continue: the process never dies
/// from the signal, and `effnet_map_guard_faulted` tells the owner that what it read is void.
/// Returns a slot number, or -1 when every slot is taken (the caller then reads with pread).
int effnet_map_guard_register(void *base, size_t length);
/// Forgets a slot (before munmap).
void effnet_map_guard_unregister(int slot);
/// 1 when a read in the slot's map faulted since it was registered.
int effnet_map_guard_faulted(int slot);

// MARK: Interruption (interrupt.c)

/// Installs SIGINT, SIGTERM and SIGHUP handlers that remove what the process registered below,
/// write `error: <context>interrupted by SIG...; nothing was written` to stderr and exit with
/// 128 + the signal number (130 for SIGINT, 143 for SIGTERM). Everything they do is
/// async-signal-safe: the state they read is fixed-size and set before it matters.
void effnet_interrupt_install(void);
/// Text put before "interrupted" (for example "model.effw: "); copied, at most 1023 bytes.
void effnet_interrupt_set_context(const char *context);
/// A named temporary file to unlink if interrupted; NULL clears it. Copied, at most 4095 bytes.
void effnet_interrupt_set_temp_file(const char *path);
/// A containment child to kill and its private folder (files `names`, then the folder) to
/// remove if interrupted; pid 0 / NULL clears them.
void effnet_interrupt_set_child(int pid);
void effnet_interrupt_set_folder(const char *path);
/// Around making the output visible: a signal arriving meanwhile is held, then ignored when the
/// commit succeeded (DEST is complete; the tool finishes and exits 0) or delivered when it failed
/// (the handler then says, truly, that nothing was written). Never does the handler report
/// "nothing was written" beside a committed DEST.
void effnet_interrupt_commit_begin(void);
void effnet_interrupt_commit_end(int committed);

/// Removes `folder`'s files named in the fixed list the containment code uses, then the folder.
/// Async-signal-safe (used by the handlers and by a child whose parent died).
void effnet_remove_contained_folder(const char *folder);

// MARK: Temporary files and process ties (tmpfile.c)

/// Opens an unnamed regular file in `directory` for writing (Linux O_TMPFILE), mode 0644.
/// Returns the descriptor, or -1 with errno set (EOPNOTSUPP, EISDIR, EINVAL... where the
/// filesystem or kernel lacks it; the caller falls back to a named temporary file).
int effnet_open_unnamed(const char *directory);
/// Links the unnamed file `fd` to `path` (linkat through /proc/self/fd). 0 or -1 with errno.
int effnet_link_unnamed(int fd, const char *path);
/// Opens `path` read-only without blocking (a FIFO or device does not wait for a writer) and
/// without becoming a controlling terminal. Returns the descriptor or -1 with errno.
int effnet_open_nonblocking(const char *path);
/// Asks the kernel to send `signal` to this process when its parent exits (Linux
/// PR_SET_PDEATHSIG), then returns 0 if the parent is still `expectedParent`, -1 otherwise
/// (it died before the request took effect). Elsewhere only the parent check is done.
int effnet_die_with_parent(int signal, int expectedParent);

#endif
