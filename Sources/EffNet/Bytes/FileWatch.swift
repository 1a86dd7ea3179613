#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CFileSupport
import Foundation

/// The live memory maps and what each file looked like when it was mapped, for
/// `MappedFile.checkAllUnchanged()`. A map released after its file changed (a read faulted, or
/// the size or modification time moved) is remembered by path: what was read from it may have
/// been copied elsewhere, and a reader that failed on the changed bytes has released its map by
/// the time its error is reported.
final class FileWatch: @unchecked Sendable {
    static let shared = FileWatch()

    struct Entry {
        var path: String
        /// Kept open while mapped, so `fstat` sees this file even after a rename over its path.
        var fd: Int32
        var slot: Int32
        var size: Int
        /// Not ctime: unlinking or renaming a file changes that (the containment parent
        /// unlinks its child's result while it is mapped), and neither changes the bytes.
        var modified: timespec

        init(path: String, fd: Int32, slot: Int32, status st: stat) {
            self.path = path
            self.fd = fd
            self.slot = slot
            size = Int(st.st_size)
            #if canImport(Glibc)
            modified = st.st_mtim
            #else
            modified = st.st_mtimespec
            #endif
        }

        /// True when the map faulted or `fstat` disagrees with what was recorded.
        var hasChanged: Bool {
            if effnet_map_guard_faulted(slot) != 0 { return true }
            var st = stat()
            guard fstat(fd, &st) == 0 else { return true }
            let now = Entry(path: path, fd: fd, slot: slot, status: st)
            return now.size != size || !same(now.modified, modified)
        }
    }

    private let lock = NSLock()
    private var entries: [ObjectIdentifier: Entry] = [:]
    /// Released maps whose files changed: the path, and whether a read of the map faulted.
    private var changedAfterRelease: [(path: String, faulted: Bool)] = []

    func add(_ entry: Entry, for owner: ObjectIdentifier) {
        lock.withLock { entries[owner] = entry }
    }

    /// Forgets the map (noting it when its file changed) and closes its descriptor.
    func remove(_ owner: ObjectIdentifier) {
        lock.withLock {
            guard let e = entries.removeValue(forKey: owner) else { return }
            // Each path once, and a bounded list: a host that maps a file again and again (the
            // fuzz harness's scratch file) must not grow it; the first names suffice to report.
            if e.hasChanged, changedAfterRelease.count < 64, !changedAfterRelease.contains(where: { $0.path == e.path }) {
                changedAfterRelease.append((e.path, effnet_map_guard_faulted(e.slot) != 0))
            }
            effnet_map_guard_unregister(e.slot)
            close(e.fd)
        }
    }

    func forgetReleased() { lock.withLock { changedAfterRelease.removeAll() } }

    /// The path of the first changed file: `owner`'s only, or any (including released maps that faulted).
    func firstChange(only owner: ObjectIdentifier?, faultsOnly: Bool = false) -> String? {
        lock.withLock {
            if let owner { return entries[owner].flatMap { $0.hasChanged ? $0.path : nil } }
            // With faultsOnly, a file that changed after its last read (a conversion already
            // committed, for one) does not count: what was read is intact.
            if faultsOnly {
                if let p = changedAfterRelease.first(where: \.faulted) { return p.path }
                return entries.values.first { effnet_map_guard_faulted($0.slot) != 0 }?.path
            }
            if let p = changedAfterRelease.first { return p.path }
            return entries.values.first(where: \.hasChanged)?.path
        }
    }
}

private func same(_ a: timespec, _ b: timespec) -> Bool { a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec }
