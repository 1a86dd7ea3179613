import EffNet
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One reusable file per process for readers that only take paths (MappedFile): each input is
/// written over it. It lives in /dev/shm when there is one, so no disk I/O happens per input.
enum ScratchFile {
    /// A private folder (mode 0700) holding the scratch file; external-data lookups by the ONNX
    /// reader resolve against it and find nothing else there.
    static let directory: String = {
        let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        let dir = "\(base)/effnet-fuzz-\(getpid())"
        mkdir(dir, 0o700)
        atexit { ScratchFile.cleanUp() }
        return dir
    }()

    static func path(_ name: String) -> String { directory + "/" + name }

    /// Writes `bytes` to `name` in the scratch folder, replacing what was there.
    static func store(_ bytes: UnsafeRawBufferPointer, name: String) -> String {
        let p = path(name)
        let fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { fatalError("cannot write \(p): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            guard n > 0 else { fatalError("short write to \(p)") }
            offset += n
        }
        // Rewriting the file is not a change this process must report (MappedFile remembers
        // files that changed after their map was released; each input is a new file).
        MappedFile.forgetReleasedChanges()
        return p
    }

    static func cleanUp() {
        if let d = opendir(directory) {
            while let e = readdir(d) {
                let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != "." && name != ".." { unlink(path(name)) }
            }
            closedir(d)
        }
        rmdir(directory)
    }
}
