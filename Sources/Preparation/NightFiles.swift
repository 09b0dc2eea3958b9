import Foundation
import Basics
import Recordings
import Cohorts
import EDF

/// One night's pair of PhysioNet Sleep-EDF files: the polysomnogram and its hypnogram.
public struct NightFiles: Sendable, Equatable {
    /// Night id: the PSG file name without "-PSG.edf" (e.g. "SC4001E0").
    public var id: String
    /// Subject id for fold planning: the two digits after "SC4" / "ST7" ("00"), else `id`.
    public var subject: String
    /// Night number: the digit after the subject digits (1 or 2), if the name follows the pattern.
    public var night: Int?
    public var psg: URL
    public var hypnogram: URL

    /// A pair with subject and night taken from the id (see `subjectAndNight(of:)`).
    public init(id: String, psg: URL, hypnogram: URL) {
        let (subject, night) = Self.subjectAndNight(of: id)
        self.init(id: id, subject: subject, night: night, psg: psg, hypnogram: hypnogram)
    }

    public init(id: String, subject: String, night: Int?, psg: URL, hypnogram: URL) {
        self.id = id
        self.subject = subject
        self.night = night
        self.psg = psg
        self.hypnogram = hypnogram
    }

    /// Sleep-EDF names ("SC4ssN…", "ST7ssN…", see `SleepEDFName`) give subject "ss"
    /// and night N; other ids are their own subject with no night number.
    public static func subjectAndNight(of id: String) -> (subject: String, night: Int?) {
        guard let name = SleepEDFName(fileName: id) else { return (id, nil) }
        return (name.subject, name.night)
    }

    /// The pairs found in `directory`, sorted by id, and the files left without a partner.
    ///
    /// A PSG is `<id>-PSG.edf`; its hypnogram is `<h>-Hypnogram.edf` where `h` has the
    /// length of `id` and the same characters but the last (Sleep-EDF: the first 7,
    /// "SC4ssNE", then the scorer's letter: `SC4001E0-PSG.edf` ↔ `SC4001EC-Hypnogram.edf`).
    /// A PSG with no or several such hypnograms, and a hypnogram with no PSG, are listed in
    /// `unpaired` with the reason.
    public static func pairs(in directory: URL) throws -> (pairs: [NightFiles], unpaired: [String]) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw SleepfoldError.fileAccess(error, file: directory.path,
                                            cannot: "list the directory of *-PSG.edf and *-Hypnogram.edf files")
        }
        let psgSuffix = "-PSG.edf", hypnogramSuffix = "-Hypnogram.edf"
        let psgIDs = names.filter { $0.hasSuffix(psgSuffix) }.map { String($0.dropLast(psgSuffix.count)) }.sorted()
        let hypnogramIDs = names.filter { $0.hasSuffix(hypnogramSuffix) }.map { String($0.dropLast(hypnogramSuffix.count)) }.sorted()
        func key(_ id: String) -> String { String(id.dropLast()) + "/\(id.count)" }

        var pairs: [NightFiles] = []
        var unpaired: [String] = []
        var used: Set<String> = []
        for id in psgIDs where !id.isEmpty {
            let matches = hypnogramIDs.filter { key($0) == key(id) }
            let psgName = id + psgSuffix
            switch matches.count {
            case 1:
                used.insert(matches[0])
                pairs.append(NightFiles(id: id, psg: directory.appendingPathComponent(psgName),
                                        hypnogram: directory.appendingPathComponent(matches[0] + hypnogramSuffix)))
            case 0:
                unpaired.append("\(psgName): no hypnogram \(id.dropLast())?\(hypnogramSuffix)")
            default:
                used.formUnion(matches)
                unpaired.append("\(psgName): several hypnograms (\(matches.map { $0 + hypnogramSuffix }.joined(separator: ", ")))")
            }
        }
        for id in hypnogramIDs where !used.contains(id) {
            unpaired.append("\(id)\(hypnogramSuffix): no PSG \(id.dropLast())?\(psgSuffix)")
        }
        return (pairs, unpaired)
    }

    /// Name ending of an NSRR annotation file (`shhs1-200001-nsrr.xml`).
    public static let nsrrSuffix = "-nsrr.xml"
    /// Name ending of a Compumedics Profusion annotation file (`shhs1-200001-profusion.xml`).
    public static let profusionSuffix = "-profusion.xml"

    /// NSRR pairs: each `<id>.edf` of `edfDirectory` with its annotations in
    /// `annotationDirectory` (the two may be one directory), sorted by id, and the EDF
    /// files without annotations. The annotations are `<id>-nsrr.xml` (NSRR XML) or else
    /// `<id>-profusion.xml` (Compumedics Profusion, what the AttnSleep paper read). When
    /// both are there, NSRR XML is taken: a directory that prepared before prepares the
    /// same, and NSRR's downloads keep the two kinds in separate directories
    /// (`annotations-events-nsrr`, `annotations-events-profusion`), so pointing at the
    /// Profusion one is how to choose it. Ids like `shhs1-200001` (cohort, visit,
    /// participant) give subject "200001" and night 1, so a participant's visits share a fold.
    public static func nsrrPairs(edfDirectory: URL, annotationDirectory: URL) throws -> (pairs: [NightFiles], unpaired: [String]) {
        func list(_ directory: URL, _ what: String) throws -> [String] {
            do {
                return try FileManager.default.contentsOfDirectory(atPath: directory.path)
            } catch {
                throw SleepfoldError.fileAccess(error, file: directory.path, cannot: "list the \(what)")
            }
        }
        let edfs = try list(edfDirectory, "EDF directory").filter { $0.lowercased().hasSuffix(".edf") }.sorted()
        let xmls = Set(try list(annotationDirectory, "annotation directory")
            .filter { $0.hasSuffix(nsrrSuffix) || $0.hasSuffix(profusionSuffix) })
        var pairs: [NightFiles] = [], unpaired: [String] = []
        for name in edfs {
            let id = String(name.dropLast(4))
            guard let annotations = [id + nsrrSuffix, id + profusionSuffix].first(where: xmls.contains) else {
                unpaired.append("\(name): no \(id)\(nsrrSuffix) or \(id)\(profusionSuffix) in \(annotationDirectory.path)")
                continue
            }
            let (subject, night) = nsrrSubjectAndVisit(of: id)
            pairs.append(NightFiles(id: id, subject: subject, night: night, psg: edfDirectory.appendingPathComponent(name),
                                    hypnogram: annotationDirectory.appendingPathComponent(annotations)))
        }
        return (pairs, unpaired)
    }

    /// "shhs1-200001" → ("200001", 1); other ids are their own subject.
    public static func nsrrSubjectAndVisit(of id: String) -> (subject: String, night: Int?) {
        guard let match = id.wholeMatch(of: /[A-Za-z]+([0-9]+)-([0-9]+)/) else { return (id, nil) }
        return (String(match.output.2), Int(match.output.1))
    }
}
