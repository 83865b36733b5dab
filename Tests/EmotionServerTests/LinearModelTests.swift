import EmotionClassifier
import EmotionServer
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// Serving the character n-gram linear model (`train --classifier linear`): /predict and /info work,
/// /tokenize answers TEI's tokenizer error (it has no subword tokenizer). Every answer is checked
/// against openapi.yaml.
@Suite struct LinearModelTests {
    @Test func predictMatchesTheLibrary() async throws {
        let model = try TinyLinearModel.model()
        let texts = sampleSentences + [longSentence]   // no token limit: the long one is fine
        let expected = try model.predict(texts)
        try await withServer(classifier: model) { client, _ in
            for (text, p) in zip(texts, expected) {
                let r = try await client.post("/predict", #"{"inputs": \#(jsonString(text))}"#)
                try OpenAPIContract.check(r, "/predict", .post)
                #expect(r.status == .ok, "\(r.text)")
                try expectAnswer(try #require(r.single), equals: p, labels: model.labels.names)
            }
            let b = try await client.post("/predict", batchBody(texts))
            try OpenAPIContract.check(b, "/predict", .post)
            let answers = try #require(b.batch)
            #expect(answers.count == texts.count)
            for (answer, p) in zip(answers, expected) {
                let scores = byLabel(answer)
                for (name, prob) in zip(model.labels.names, p.probabilities) {
                    #expect(abs(try #require(scores[name]) - Double(prob)) <= 1e-6)
                }
            }
        }
    }

    /// raw_scores are the logits W x + b: their softmax is the library's probabilities, and they are
    /// not the probabilities themselves.
    @Test func rawScoresAreTheLogits() async throws {
        let model = try TinyLinearModel.model()
        let text = "오늘 정말 행복해!"
        let reference = try model.predict([text])[0].probabilities
        let logits = model.scores([text])[0].logits
        try await withServer(classifier: model) { client, _ in
            let r = try await client.post("/predict", #"{"inputs": \#(jsonString(text)), "raw_scores": true}"#)
            try OpenAPIContract.check(r, "/predict", .post)
            let raw = byLabel(try #require(r.single))
            let z = try model.labels.names.map { try #require(raw[$0]) }
            for (a, b) in zip(z, logits) { #expect(abs(a - Double(b)) <= 1e-6) }
            let m = z.max() ?? 0
            let e = z.map { Foundation.exp($0 - m) }
            let sum = e.reduce(0, +)
            for (k, p) in reference.enumerated() { #expect(abs(e[k] / sum - Double(p)) <= 1e-6, "label \(k)") }
            #expect(zip(z, reference).contains { abs($0 - Double($1)) > 1e-3 }, "raw scores equal the probabilities")
        }
    }

    @Test func infoSaysLinear() async throws {
        let model = try TinyLinearModel.model()
        var options = defaultTestOptions()
        options.maxInputCharacters = 500
        try await withServer(options, classifier: model) { client, _ in
            let r = try await client.get("/info")
            try OpenAPIContract.check(r, "/info", .get)
            let info = try #require(r.json as? [String: Any])
            #expect(info["model_kind"] as? String == "linear")
            #expect(info["tokenizer_pipeline"] as? String == "char-ngrams")
            #expect((info["max_input_length"] as? NSNumber)?.intValue == 500)
            let labels = try #require(info["labels"] as? [String])
            #expect(labels.count == model.labels.names.count)
            for (a, b) in zip(labels, model.labels.names) { #expect(a.unicodeScalars.elementsEqual(b.unicodeScalars)) }
            #expect(try await client.get("/health").status == .ok)
        }
    }

    @Test func tokenizeIsATokenizerError() async throws {
        try await withServer(classifier: try TinyLinearModel.model()) { client, _ in
            let r = try await client.post("/tokenize", #"{"inputs": "안녕"}"#)
            try OpenAPIContract.check(r, "/tokenize", .post)
            #expect(r.status == .unprocessableContent && r.errorType == "Tokenizer", "\(r.text)")
            #expect(r.errorMessage.contains("no subword tokenizer"), "\(r.errorMessage)")
        }
    }

    /// The input limits still hold for the linear model: empty 400, too many characters 422.
    @Test func inputLimitsHold() async throws {
        var options = defaultTestOptions()
        options.maxInputCharacters = 20
        try await withServer(options, classifier: try TinyLinearModel.model()) { client, _ in
            let empty = try await client.post("/predict", #"{"inputs": ""}"#)
            #expect(empty.status == .badRequest && empty.errorType == "Empty")
            let long = try await client.post("/predict", #"{"inputs": \#(jsonString(longSentence))}"#)
            #expect(long.status == .unprocessableContent && long.errorType == "Tokenizer", "\(long.text)")
            for r in [empty, long] { try OpenAPIContract.check(r, "/predict", .post) }
        }
    }

    /// The real command serves a model directory written by `train --classifier linear`.
    @Test func serveCommandLoadsTheLinearModel() async throws {
        let (process, _, base) = try startServe(model: try TinyLinearModel.directory())
        defer { if process.isRunning { process.terminate() } }
        #expect(try await get(base + "/info").contains(#""model_kind":"linear""#))
        #expect(try await post(base + "/predict", #"{"inputs": "오늘 정말 행복해!"}"#) == 200)
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date(timeIntervalSinceNow: 20)
        while process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
    }
}
