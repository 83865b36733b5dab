import Foundation

extension EmotionDataset {
    /// The small dataset shipped with the library: UTF-8 CSV in the seed's format (`발화문,상황`), everyday
    /// Korean sentences written for this project, at least 300 per emotion of `LabelSet.seed`.
    public static var builtInSample: URL {
        // The file is declared as a resource of this target, so it is always in the bundle.
        Bundle.module.url(forResource: "sample-emotions", withExtension: "csv")!
    }

    /// Loads `builtInSample` with the default columns and the seed's labels.
    public static func loadBuiltInSample() throws(DatasetError) -> EmotionDataset {
        try load(contentsOf: builtInSample, encoding: .utf8)
    }
}
