import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Basics

/// What the SAX readers of annotation XML (`NSRRAnnotations`, `ProfusionAnnotations`)
/// report back to `parseAnnotationXML` after the parse.
protocol AnnotationXMLReader: XMLParserDelegate {
    /// The first problem found in the content; the reader aborts the parser when it sets it.
    var problem: SleepfoldError? { get }
    /// Whether the root element's start tag was seen.
    var sawRoot: Bool { get }
    /// Whether the parse ended between the root's start and end tags (a cut file).
    var insideRoot: Bool { get }
}

/// Parses annotation XML `data` (`file` names it in errors) with `reader`, the same
/// way for every annotation format, so a cut or malformed file is refused alike:
/// the reader's own problem first, then `.badXML` for XML that is not well-formed,
/// `.truncated` for a document that ends inside the root element, `.badAnnotation`
/// for a document without the root element `root`.
///
/// External entities are never resolved (`shouldResolveExternalEntities` false, which
/// is also Foundation's default): annotation files come from outside (docs/security.md).
func parseAnnotationXML(_ data: Data, file: String, reader: some AnnotationXMLReader, root: String,
                        format: String, rootContent: String) throws {
    let parser = XMLParser(data: data)
    parser.shouldResolveExternalEntities = false
    parser.delegate = reader
    let parsed = parser.parse()
    if let problem = reader.problem { throw problem }
    // Foundation on Linux returns true for a document cut short, with parserError set.
    guard parsed, parser.parserError == nil else {
        let reason = parser.parserError.map { error -> String in
            (error as NSError).code == XMLParser.ErrorCode.prematureDocumentEndError.rawValue
                ? "the document ends early" : error.localizedDescription
        } ?? "unknown error"
        throw SleepfoldError(.badXML, file: file, field: "line \(parser.lineNumber)", found: "malformed XML (\(reason))",
                             expected: "a well-formed \(format) file")
    }
    guard !reader.insideRoot else {
        throw SleepfoldError(.truncated, file: file, field: "line \(parser.lineNumber)",
                             found: "the end of the file inside <\(root)>", expected: "a complete \(format) file")
    }
    guard reader.sawRoot else {
        throw SleepfoldError(.badAnnotation, file: file, field: "root element", found: "no <\(root)>",
                             expected: "<\(root)> with \(rootContent)")
    }
}
