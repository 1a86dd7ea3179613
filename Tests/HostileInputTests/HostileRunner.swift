import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What one run of a built tool did: status, output, wall time and peak memory.
struct HostileRun {
    var status: Int32
    /// Set when the process died from a signal (a crash: never acceptable).
    var signal: Int32?
    var stdout: String
    var stderr: String
    var seconds: Double
    /// Peak resident set of the tool and the children it waited for (a contained reader), bytes.
    var maxRSS: Int
    var timedOut: Bool

    var firstErrorLine: String { stderr.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? "" }
}

/// Runs the built tools with posix_spawn and wait4, so each run's own peak RSS is known
/// (getrusage(RUSAGE_CHILDREN) only gives the maximum over every child so far). Copied in
/// spirit from Tests/CLITests/ToolRunner.swift, not imported.
enum HostileRunner {
    static var binDirectory: URL {
        #if os(macOS)
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            return bundle.bundleURL.deletingLastPathComponent()
        }
        fatalError("no test bundle")
        #else
        return Bundle.main.bundleURL
        #endif
    }

    /// Runs `tool` with `arguments`; kills it after `limit` seconds. `alongside`, when given, runs
    /// on another thread with the tool's pid as soon as it is started (to signal it, or to
    /// change its input while it runs); the run is not reaped before it returns.
    static func run(_ tool: String, _ arguments: [String], limit: Double = 60, environment: [String: String] = [:],
                    alongside: (@Sendable (pid_t) -> Void)? = nil) throws -> HostileRun {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("effnet-hostile-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let outPath = dir.appendingPathComponent("stdout").path, errPath = dir.appendingPathComponent("stderr").path
        let executable = binDirectory.appendingPathComponent(tool).path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        var cArgs: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        var cEnv: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in cArgs + cEnv { free(p) } }
        var pid: pid_t = 0
        let start = Date()
        let spawned = posix_spawn(&pid, executable, &actions, nil, &cArgs, &cEnv)
        guard spawned == 0 else { throw NSError(domain: "HostileRunner", code: Int(spawned), userInfo: [NSLocalizedDescriptionKey: "cannot run \(executable)"]) }
        let helperDone = DispatchSemaphore(value: 0)
        if let alongside {
            let child = pid
            Thread.detachNewThread {
                alongside(child)
                helperDone.signal()
            }
        } else {
            helperDone.signal()
        }
        // The helper finishes before the run is reported (it may still be looking at the pid).
        defer { helperDone.wait() }
        var status: Int32 = 0
        var usage = rusage()
        var timedOut = false
        // Linux carries ru_maxrss across exec, so a child of this (large) test process reports
        // the test process's own peak. Sample the child's VmHWM (this mm only) while it runs.
        // A contained reader is a child of the tool: its peak is sampled too, and the two are
        // added (an upper bound of what ran at once).
        var sampledPeak = 0, childPeak = 0
        while true {
            #if os(Linux)
            sampledPeak = max(sampledPeak, Self.highWaterMark(pid: pid))
            for child in Self.children(of: pid) { childPeak = max(childPeak, Self.highWaterMark(pid: child)) }
            #endif
            let r = wait4(pid, &status, WNOHANG, &usage)
            if r == pid { break }
            if r < 0 && errno != EINTR { break }
            if Date().timeIntervalSince(start) > limit {
                kill(pid, SIGKILL)
                timedOut = true
                _ = wait4(pid, &status, 0, &usage)
                break
            }
            usleep(2000)
        }
        let seconds = Date().timeIntervalSince(start)
        let low = status & 0x7f
        #if os(Linux)
        let rss = sampledPeak + childPeak  // see above: ru_maxrss would include this process's own peak
        #else
        let rss = Int(usage.ru_maxrss)  // bytes on macOS
        #endif
        return HostileRun(status: low == 0 ? (status >> 8) & 0xff : -1, signal: low == 0 ? nil : low,
                          stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                          stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "",
                          seconds: seconds, maxRSS: rss, timedOut: timedOut)
    }

    /// The live children of a process (from /proc/PID/task/*/children).
    static func children(of pid: pid_t) -> [pid_t] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.flatMap { task -> [pid_t] in
            let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? ""
            return text.split(separator: " ").compactMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
    }

    /// VmHWM of a live process from /proc, in bytes (0 when it has exited or cannot be read).
    static func highWaterMark(pid: pid_t) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
        let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kb * 1024
    }
}
