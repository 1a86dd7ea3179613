import EffNet
import Foundation
import XCTest

/// Archives whose cost would grow with what they declare rather than with their size (issue 16):
/// pickles of ten million small entries, zip entries that share bytes, .keras archives whose
/// config or weights are huge or missing, and argument types torch itself refuses.
final class BoundedWorkTests: HostileTestCase {
    /// A torch zip whose data.pkl builds one container of `count` entries, as Python pickles
    /// them: batches of 1000 between MARK and APPENDS/SETITEMS.
    func tenMillionEntries(dict: Bool, count: Int = 10_000_000) -> [UInt8] {
        var p: [UInt8] = [0x80, 0x02, dict ? 0x7d : 0x5d]  // PROTO 2, EMPTY_DICT / EMPTY_LIST
        p.reserveCapacity(count * (dict ? 6 : 1) + count / 500 + 16)
        var i = 0
        while i < count {
            p.append(0x28)  // MARK
            for k in i ..< min(count, i + 1000) {
                if dict { p.append(0x4a); p += Pickle.le32(k) }  // BININT key
                p.append(0x4e)  // NONE
            }
            p.append(dict ? 0x75 : 0x65)  // SETITEMS / APPENDS
            i += 1000
        }
        p.append(0x2e)  // STOP
        return ContainerBuilder.torchZip(dataPkl: p)
    }

    func testTenMillionDictEntriesAreRefusedQuickly() throws {
        let path = try scratch.write(tenMillionEntries(dict: true), "dict10m.pt")
        let r = try assertRefused(path, mentions: ["limit on elements"], maxRSS: 200 << 20)
        XCTAssertLessThan(r?.seconds ?? 99, 5, "issue 16 asks for under 2 s on an idle machine")
    }

    func testTenMillionListItemsAreRefusedQuickly() throws {
        let path = try scratch.write(tenMillionEntries(dict: false), "list10m.pt")
        let r = try assertRefused(path, mentions: ["limit on elements"], maxRSS: 200 << 20)
        XCTAssertLessThan(r?.seconds ?? 99, 5)
    }

    func testOverlappingZipEntriesAreRefused() throws {
        try assertRefused(HostileFixtures.path("zip/overlap_nested.pt"), mentions: ["overlap", "archive/data/1", "archive/data/0"])
    }

    func testRequiresGradOfTheWrongTypeIsRefused() throws {
        try assertRefused(HostileFixtures.path("torch/requires_grad_string.pt"), mentions: ["requires_grad", "not a bool"])
    }

    func testKerasArchiveWithoutWeightsGetsAKerasMessage() throws {
        try assertRefused(HostileFixtures.path("keras/no_weights_entry.keras"), mentions: ["no model.weights.h5 entry"])
    }

    func testKerasWeightsEntryUnderAnotherFolderIsNamed() throws {
        try assertRefused(HostileFixtures.path("keras/weights_dotdot.keras"), mentions: ["'../model.weights.h5'"])
    }

    func testKerasConfigNested100000DeepIsNamedAsSuch() throws {
        try assertRefused(HostileFixtures.path("keras/config_nested.keras"), mentions: ["nested more than 512 levels"])
    }

    func testKerasConfigOf200MBIsRefusedBeforeInflating() throws {
        try assertRefused(HostileFixtures.path("keras/config_200mb.keras"), mentions: ["config.json", "16 MiB limit"], maxRSS: 160 << 20)
    }

    func testKerasWeightsOf7GBAreRefusedByTheCap() throws {
        try assertRefused(HostileFixtures.path("keras/weights_7gb.keras"), mentions: ["model.weights.h5", "EFFNET_KERAS_MAX_WEIGHTS_MB"],
                          maxRSS: 160 << 20)
    }
}
