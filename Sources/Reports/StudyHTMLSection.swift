/// A section appended to study.html after the study's own (e.g. an error
/// analysis per arm, which other code renders).
public struct StudyHTMLSection: Sendable {
    /// The section's `id`, unique in the page (escaped when written).
    public var id: String
    /// Its heading (escaped when written).
    public var title: String
    /// Its content: HTML inserted as is, so the caller escapes any text in it and
    /// keeps to inline SVG and CSS (the page loads nothing).
    public var body: String
    /// CSS rules the content needs, added to the page's style sheet.
    public var style: String

    public init(id: String, title: String, body: String, style: String = "") {
        self.id = id
        self.title = title
        self.body = body
        self.style = style
    }
}
