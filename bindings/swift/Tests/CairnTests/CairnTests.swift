// Tests for a Mac with Xcode (`swift test` after scripts/bindings-xcframework.sh).
// They were written but never compiled or run on cairn's CI, which has no
// Swift toolchain: see docs/swift.md.

import Foundation
import XCTest
@testable import Cairn

final class JSONTextTests: XCTestCase {
    func testScalarsCollectionsAndEscapes() throws {
        let text = try JSONText.encode("p", ["s": "a\"b\n", "i": 7, "b": true, "d": 1.5, "n": NSNull(), "l": [1, 2]])
        let back = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        XCTAssertEqual(back?["s"] as? String, "a\"b\n")
        XCTAssertEqual(back?["i"] as? Int, 7)
        XCTAssertEqual(back?["b"] as? Bool, true)
        XCTAssertEqual(back?["l"] as? [Int], [1, 2])
    }

    func testABadValueIsNamedByItsKeyPath() {
        XCTAssertThrowsError(try JSONText.encode("properties", ["cart": [["price": Double.nan]]])) { error in
            XCTAssertEqual((error as? JSONEncodingFailure)?.path, "properties.cart[0].price")
        }
    }

    func testEncodableValuesUseTheirCodingPath() {
        struct Item: Encodable { let price: Double }
        struct Cart: Encodable { let items: [Item] }
        XCTAssertThrowsError(try JSONText.encode("properties", encodable: Cart(items: [Item(price: .infinity)]))) { error in
            XCTAssertEqual((error as? JSONEncodingFailure)?.path, "properties.items[0].price")
        }
    }
}

final class CairnTests: XCTestCase {
    func testBadConfigurationNamesTheOption() {
        var config = CairnConfig(writeKey: "key", endpoint: "ftp://example.com")
        config.storagePath = NSTemporaryDirectory() + "/cairn-swift-\(UUID().uuidString).db"
        XCTAssertThrowsError(try Cairn(config: config)) { error in
            guard case .invalidConfig(let message) = error as? CairnError else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("`endpoint`"), message)
        }
    }

    func testRecordingCommitsToTheBuffer() throws {
        var config = CairnConfig(writeKey: "key", endpoint: "http://127.0.0.1:9")
        config.storagePath = NSTemporaryDirectory() + "/cairn-swift-\(UUID().uuidString).db"
        config.flushAt = 1000
        let cairn = try Cairn(config: config)
        try cairn.track("Signed Up", properties: ["plan": "pro"])
        XCTAssertTrue(try cairn.commit())
        XCTAssertEqual(cairn.stats().queuedEvents, 1)
        XCTAssertThrowsError(try cairn.track("Bad", properties: ["v": Double.nan]))
        try cairn.shutdown(timeout: 0)
    }

    func testTheOwnDestinationRoutesAndIsListedInStats() throws {
        var config = CairnConfig(writeKey: "key", endpoint: "http://127.0.0.1:9")
        config.storagePath = NSTemporaryDirectory() + "/cairn-swift-\(UUID().uuidString).db"
        config.allowEvents = ["Order *"]
        config.denyEvents = ["Order Refunded"]
        let cairn = try Cairn(config: config)
        XCTAssertEqual(cairn.stats().destinations.map { $0.name }, ["default"])
        try cairn.shutdown(timeout: 0)

        config.callTypes = ["Track"]
        XCTAssertThrowsError(try Cairn(config: config)) { error in
            guard case .invalidConfig(let message) = error as? CairnError else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("`call_types`"), message)
        }
    }
}
