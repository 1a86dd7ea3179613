import EffNet
import Foundation
import EffNetTF

extension Converter {
    /// Source -> verified .effw. Never leaves a partial DEST; never overwrites without
    /// `options.overwrite`; never writes when verification fails.
    /// - Returns: the report (also when verification failed: check `report.passed`).
    /// - Throws: reader errors, `MappingError`, `WeightCheckError`, `ConversionError`, `FileError`.
    public static func convert(source: String, destination: String, options: Options) throws -> ConversionReport {
        // DEST must not be SOURCE (or one of its files) whatever its name asks for: that is said first.
        try checkPaths(source: source, destination: destination,
                       overwrite: options.overwrite || ExportContainer.of(destination: destination) == .hubFolder)
        let target = try exportTarget(destination: destination, to: options.target)
        // The bulk data check (a torch zip's storage CRC-32s) starts now, on other threads, and
        // overlaps with mapping and writing; nothing is built or committed before it passes.
        var readOptions = options.read
        readOptions.deferDataChecks = true
        let checkpoint = try SourceReader.read(path: source, options: readOptions)
        let sourceCheck = checkpoint.pendingCheck.map(ConcurrentCheck.init)
        do {
            return try convert(checkpoint, sourceCheck: sourceCheck, source: source, destination: destination, target: target, options: options)
        } catch {
            // A damaged source explains any later failure best: its error comes first.
            if let damage = sourceCheck?.error() { throw damage }
            throw error
        }
    }

    private static func convert(_ checkpoint: SourceCheckpoint, sourceCheck: ConcurrentCheck?, source: String,
                                destination: String, target: (ExportContainer, FamilyName?), options: Options) throws -> ConversionReport {
        let referencePair = try loadReferencePair(options)
        let candidates = try candidateMappings(checkpoint, family: options.family, imageSize: options.imageSize,
                                               names: options.names, head: options.head)
        let canVerify = referencePair != nil || checkpoint.reference != nil
        guard canVerify || candidates.count == 1 else {
            throw ambiguity(candidates, path: source, decide: "a reference pair (--check-input X.npy --check-output Y.npy) to decide")
        }
        if !canVerify {
            // Nothing to run against: check and stream the tensors without building the model.
            let mapping = candidates[0]
            var report = ConversionReport(source: source, destination: destination, format: checkpoint.format, family: mapping.family)
            report.config = mapping.config
            report.fates = mapping.fates(for: checkpoint)
            report.notes += mapping.notes
            report.unverifiedReason = "no reference: pass --check-input X.npy --check-output Y.npy written by the source framework"
            if target.0 != .effw {
                try sourceCheck?.wait()
                let model = try buildModel(checkpoint, mapping, allowNonFinite: options.allowNonFinite)
                return try export(model, mapping: mapping, target: target, destination: destination, options: options, report: report)
            }
            try write(checkpoint, mapping, built: nil, sourceCheck: sourceCheck, verification: nil, source: source,
                      destination: destination, options: options)
            report.written = true
            return report
        }

        try sourceCheck?.wait()
        // Classifier chains the file leaves open are decided on the pooled features first, so
        // the network runs once per family, not once per chain.
        var (screened, headNotes) = (candidates, [String: [String]]())
        if let pair = referencePair {
            (screened, headNotes) = try screenHeads(candidates, checkpoint: checkpoint, pair: pair, allowNonFinite: options.allowNonFinite)
        }
        // Build every candidate; keep the weight-check problems of the first for the error.
        var built: [(WeightMapping, EfficientNet)] = []
        var firstProblem: Error?
        for m in screened {
            do { built.append((m, try buildModel(checkpoint, m, allowNonFinite: options.allowNonFinite))) }
            catch { if firstProblem == nil { firstProblem = error } }
        }
        guard !built.isEmpty else { throw firstProblem ?? MappingError.unknownFamily(path: source, detail: "no mapping") }

        var report = ConversionReport(source: source, destination: destination, format: checkpoint.format,
                                      family: built[0].0.family)
        // Verify each candidate against everything available (the ONNX graph and/or the pair).
        var results: [[Verifier.Result]] = []
        for (_, model) in built {
            results.append(try verify(model, checkpoint: checkpoint, pair: referencePair, tolerance: options.tolerance))
        }
        // The candidate passing every check with the smallest error; else the smallest error.
        func rank(_ r: [Verifier.Result]) -> (Int, Float) {
            (r.allSatisfy(\.passed) ? 0 : 1, r.map(\.comparison.relativeError).max() ?? .infinity)
        }
        let chosen = results.indices.min { rank(results[$0]) < rank(results[$1]) } ?? 0
        for i in [chosen] + results.indices.filter({ $0 != chosen }) {
            report.verifications += results[i].map { (built[i].0.family, $0) }
        }
        if built.count > 1 { report.notes.append("family decided by the reference: \(built[chosen].0.family)") }
        report.notes += headNotes[built[chosen].0.family] ?? []
        let chosenResults = results[chosen]
        report.passed = chosenResults.isEmpty ? nil : chosenResults.allSatisfy(\.passed)
        report.verification = chosenResults.max { $0.comparison.relativeError < $1.comparison.relativeError }
        if chosenResults.isEmpty {
            report.unverifiedReason = "no reference: pass --check-input X.npy --check-output Y.npy written by the source framework"
        }
        let (mapping, model) = built[chosen]
        report.family = mapping.family
        report.config = mapping.config
        report.fates = mapping.fates(for: checkpoint)
        report.notes += mapping.notes
        if report.passed == false { return report }

        if target.0 != .effw {
            return try export(model, mapping: mapping, target: target, destination: destination, options: options, report: report)
        }
        var record = report.verification?.provenanceRecord
        record?.method = chosenResults.map(\.method).joined(separator: "+")
        try write(checkpoint, mapping, built: model, sourceCheck: nil, verification: record, source: source,
                  destination: destination, options: options)
        report.written = true
        return report
    }

    /// The one way a conversion writes DEST: the mapping's tensors streamed into the .effw
    /// (stored bytes straight from the source's memory map where they already are the output,
    /// else the verified model's tensors, else converted while writing), atomically. The checks
    /// still pending (the source's CRC-32s, the NaN/Inf scan) run beside the write; the file is
    /// committed only if they pass.
    private static func write(_ checkpoint: SourceCheckpoint, _ mapping: WeightMapping, built: EfficientNet?,
                              sourceCheck: ConcurrentCheck?, verification: Provenance.Verification?, source: String,
                              destination: String, options: Options) throws {
        let storage = storageType(options.storage, checkpoint: checkpoint, mapping: mapping)
        let plan = try streamingPlan(checkpoint, mapping, storage: storage, allowNonFinite: options.allowNonFinite, built: built)
        // A built model has been through the strict check and the scan already.
        let scan = built == nil ? ConcurrentCheck(plan.scan) : nil
        var metadata = try EfficientNet.effwMetadata(
            config: mapping.config, provenance: provenance(source: source, checkpoint: checkpoint, mapping: mapping, verification: verification))
        // Class names the source gives (a hub config's id2label) travel as effnet-finetune's do.
        if let names = mapping.classNames, names.count == mapping.config.numClasses {
            metadata[EffwKeys.classNames] = String(decoding: try JSONEncoder().encode(names), as: UTF8.self)
        }
        try EffwWriter.write(entries: plan.entries, metadata: metadata, to: destination, overwrite: options.overwrite,
                             alongside: [sourceCheck, scan].compactMap { $0 })
    }

    static func provenance(source: String, checkpoint: SourceCheckpoint, mapping: WeightMapping,
                           verification: Provenance.Verification?) -> Provenance {
        Provenance(sourceFile: (source as NSString).lastPathComponent, sourceFormat: checkpoint.format.rawValue,
                   family: mapping.family, createdAt: utcTimestamp(),
                   verification: verification)
    }

    /// `seconds` since the epoch (default: now) as ISO 8601 UTC, "2026-11-29T11:40:05Z", the
    /// form ISO8601DateFormatter gives. Formatted by hand: creating that formatter (ICU behind
    /// Foundation) cost ~1.7 ms of a ~90 ms conversion.
    public static func utcTimestamp(_ seconds: Int = Int(time(nil))) -> String {
        var t = time_t(seconds)
        var parts = tm()
        guard gmtime_r(&t, &parts) != nil else { return "1970-01-01T00:00:00Z" }
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let year = String(parts.tm_year + 1900)
        return "\(String(repeating: "0", count: max(0, 4 - year.count)))\(year)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))"
            + "T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }

    static func storageType(_ policy: StoragePolicy, checkpoint: SourceCheckpoint, mapping: WeightMapping) -> DType {
        switch policy {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .source:
            let sources = Set(mapping.assignments.compactMap { a in checkpoint.tensor(a.source)?.dtype })
            if sources.count == 1, let only = sources.first, only == .f16 || only == .bf16 { return only }
            return .f32
        }
    }

    /// Every comparison available for `model`: the user's reference pair, and the source's own
    /// reference (an ONNX graph) on a probe batch.
    static func verify(_ model: EfficientNet, checkpoint: SourceCheckpoint, pair: (Tensor, Tensor)?,
                       tolerance: Float) throws -> [Verifier.Result] {
        var results: [Verifier.Result] = []
        if let (input, expected) = pair {
            try model.validateInput(shape: input.shape)
            let start = DispatchTime.now().uptimeNanoseconds
            var result = try Verifier.compare(model, input: input, expected: expected, method: "reference-pair", tolerance: tolerance)
            result.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            results.append(result)
        }
        if let reference = checkpoint.reference {
            let start = DispatchTime.now().uptimeNanoseconds
            let size = model.config.padding.imageSize ?? [model.config.imagePreprocessing.cropSize, model.config.imagePreprocessing.cropSize]
            var shape = reference.inputShape.count == 4 ? reference.inputShape : [0, model.config.inputChannels, 0, 0]
            if shape[0] <= 0 { shape[0] = 2 }
            if shape[2] <= 0 { shape[2] = size[0] }
            if shape[3] <= 0 { shape[3] = size[1] }
            let probe = Verifier.probeInput(shape: shape, rawPixels: model.config.inputTransform != nil)
            let expected = try reference.run(probe)
            var result = try Verifier.compare(model, input: probe, expected: expected, method: "onnx-graph", tolerance: tolerance)
            if !result.passed, let graph = reference as? ONNXReference {
                // Re-run both stage by stage to say where the numbers part.
                result.firstDivergence = (try? graph.firstDivergence(from: model, input: probe, tolerance: tolerance))??.description
            }
            result.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            results.append(result)
        }
        return results
    }

    static func loadReferencePair(_ options: Options) throws -> (Tensor, Tensor)? {
        switch (options.checkInput, options.checkOutput) {
        case (nil, nil): return nil
        case let (i?, o?):
            let input = try NPY.readTensor(path: i)
            let output = try NPY.readTensor(path: o)
            guard input.rank == 4 else { throw VerificationError.referenceInput(path: i, detail: "--check-input must be NCHW, got shape \(input.shape)") }
            guard output.rank >= 1, output.shape[0] == input.shape[0] else {
                throw VerificationError.referenceInput(path: o, detail: "--check-output has shape \(output.shape), expected [\(input.shape[0]), classes]")
            }
            return (input, output.rank == 2 ? output : Tensor(shape: [output.shape[0], output.count / max(1, output.shape[0])], scalars: output.scalars))
        default:
            throw ConversionError.usage("--check-input and --check-output go together")
        }
    }

    /// DEST must differ from SOURCE and must not exist unless overwriting.
    static func checkPaths(source: String, destination: String, overwrite: Bool) throws {
        let fm = FileManager.default
        // A TensorFlow checkpoint may be named by its prefix, which is no file itself.
        guard fm.fileExists(atPath: source) || fm.fileExists(atPath: source + ".index") else { throw FileError.cannotOpen(path: source, reason: "no such file") }
        let s = URL(fileURLWithPath: source).resolvingSymlinksInPath().standardizedFileURL.path
        let d = URL(fileURLWithPath: destination).resolvingSymlinksInPath().standardizedFileURL.path
        guard s != d else { throw ConversionError.usage("\(destination): DEST is the SOURCE file; refusing to overwrite it") }
        // A TensorFlow checkpoint is several files: DEST may be none of them.
        if let prefix = try? TensorBundle.prefix(forSource: source) {
            let p = URL(fileURLWithPath: prefix).resolvingSymlinksInPath().standardizedFileURL.path
            if d == p + ".index" || (d.hasPrefix(p + ".data-") && !d.dropFirst(p.count + 6).contains("/")) {
                throw ConversionError.usage("\(destination): DEST is a file of the SOURCE checkpoint \(prefix); refusing to overwrite it")
            }
        }
        if fm.fileExists(atPath: destination) && !overwrite { throw FileError.exists(path: destination) }
    }
}

public enum ConversionError: Error, Equatable, CustomStringConvertible {
    case usage(String)
    public var description: String {
        switch self { case let .usage(s): return s }
    }
}
