// Decides how Swift values become the JSON text that crosses the FFI, and
// what is refused: a value JSON cannot carry is named by its key path
// ("properties.cart[2].price") so the developer knows which one to fix.
// Dictionaries ([String: Any]) are walked here; Encodable values go through
// JSONEncoder, whose coding path names the key.

import Foundation

/// A value that cannot be encoded as JSON; `path` names it.
struct JSONEncodingFailure: Error {
    let path: String
    let reason: String
    var message: String { "\(path): \(reason)" }
}

/// Lets an `Any` that holds an Optional be unwrapped without Mirror.
private protocol AnyOptional {
    var wrappedAny: Any? { get }
}

extension Optional: AnyOptional {
    fileprivate var wrappedAny: Any? {
        switch self {
        case .some(let wrapped): return wrapped
        case .none: return nil
        }
    }
}

enum JSONText {
    /// Deeper than this is almost surely a collection that contains itself.
    static let maxDepth = 64

    /// The JSON object text of `object`, or "" when it is empty (the core
    /// reads that as "none"). `root` names it in errors.
    static func encode(_ root: String, _ object: [String: Any]) throws -> String {
        if object.isEmpty { return "" }
        var out = ""
        out.reserveCapacity(32 + object.count * 24)
        try writeObject(&out, object, path: root, depth: 0)
        return out
    }

    /// The JSON object text of an Encodable value (a struct, a class or a
    /// dictionary); dates become ISO-8601 text.
    static func encode<T: Encodable>(_ root: String, encodable value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.nonConformingFloatEncodingStrategy = .throw
        let data: Data
        do {
            data = try encoder.encode(value)
        } catch let EncodingError.invalidValue(bad, context) {
            throw JSONEncodingFailure(
                path: codingPath(root, context.codingPath),
                reason: "\(bad) cannot be encoded as JSON (\(context.debugDescription))"
            )
        }
        let text = String(decoding: data, as: UTF8.self)
        if text == "{}" { return "" }
        guard text.hasPrefix("{") else {
            throw JSONEncodingFailure(path: root, reason: "must encode as a JSON object (a struct or a dictionary), got \(text.prefix(40))")
        }
        return text
    }

    private static func codingPath(_ root: String, _ keys: [CodingKey]) -> String {
        var path = root
        for key in keys {
            if let index = key.intValue {
                path += "[\(index)]"
            } else {
                path = child(path, key.stringValue)
            }
        }
        return path
    }

    private static func child(_ path: String, _ key: String) -> String {
        let plain = !key.isEmpty && key.unicodeScalars.allSatisfy { s in
            (s >= "a" && s <= "z") || (s >= "A" && s <= "Z") || (s >= "0" && s <= "9") || s == "_" || s == "-" || s == "$"
        }
        if plain { return "\(path).\(key)" }
        var quoted = ""
        writeString(&quoted, key)
        return "\(path)[\(quoted)]"
    }

    private static func writeValue(_ out: inout String, _ value: Any, path: String, depth: Int) throws {
        if let optional = value as? AnyOptional {
            guard let wrapped = optional.wrappedAny else {
                out += "null"
                return
            }
            try writeValue(&out, wrapped, path: path, depth: depth)
            return
        }
        // Exact Swift types first, so that an Int is never read as a Bool
        // (or the reverse) through NSNumber bridging.
        let type = Swift.type(of: value)
        switch value {
        case is NSNull:
            out += "null"
        case let v as String:
            writeString(&out, v)
        case let v as Bool where type == Bool.self:
            out += v ? "true" : "false"
        case let v as Int where type == Int.self: out += String(v)
        case let v as Int8 where type == Int8.self: out += String(v)
        case let v as Int16 where type == Int16.self: out += String(v)
        case let v as Int32 where type == Int32.self: out += String(v)
        case let v as Int64 where type == Int64.self: out += String(v)
        case let v as UInt where type == UInt.self: out += String(v)
        case let v as UInt8 where type == UInt8.self: out += String(v)
        case let v as UInt16 where type == UInt16.self: out += String(v)
        case let v as UInt32 where type == UInt32.self: out += String(v)
        case let v as UInt64 where type == UInt64.self: out += String(v)
        case let v as Double where type == Double.self:
            try writeDouble(&out, v, path: path)
        case let v as Float where type == Float.self:
            try writeDouble(&out, Double(v), path: path, text: "\(v)")
        case let v as Decimal where type == Decimal.self:
            if v.isNaN { throw JSONEncodingFailure(path: path, reason: "NaN is not a JSON number: send nil or a string instead") }
            out += "\(v)"
        case let v as NSNumber:
            try writeNumber(&out, v, path: path)
        case let v as Date:
            writeString(&out, iso8601(v))
        case let v as UUID:
            writeString(&out, v.uuidString)
        case let v as URL:
            writeString(&out, v.absoluteString)
        case let v as [String: Any]:
            try writeObject(&out, v, path: path, depth: depth)
        case let v as [AnyHashable: Any]:
            if let key = v.keys.first(where: { !($0.base is String) }) {
                throw JSONEncodingFailure(path: path, reason: "has key \(key.base) of type \(Swift.type(of: key.base)): JSON object keys must be strings")
            }
            var strings: [String: Any] = [:]
            for (key, item) in v {
                if let k = key.base as? String { strings[k] = item }
            }
            try writeObject(&out, strings, path: path, depth: depth)
        case let v as [Any]:
            try writeArray(&out, v, path: path, depth: depth)
        case let v as Set<AnyHashable>:
            try writeArray(&out, Array(v), path: path, depth: depth)
        case is Data:
            throw JSONEncodingFailure(path: path, reason: "binary data (Data) cannot be sent as JSON: encode it as Base64 text first")
        case let v as any RawRepresentable:
            try writeValue(&out, v.rawValue, path: path, depth: depth)
        default:
            throw JSONEncodingFailure(
                path: path,
                reason: "a \(type) cannot be encoded as JSON: pass a String, number, Bool, nil, NSNull, Date, UUID, URL, " +
                    "array, [String: Any] or a RawRepresentable enum, or use the Encodable overload"
            )
        }
    }

    private static func writeNumber(_ out: inout String, _ n: NSNumber, path: String) throws {
        #if canImport(Darwin)
        if CFGetTypeID(n) == CFBooleanGetTypeID() {
            out += n.boolValue ? "true" : "false"
            return
        }
        #endif
        let kind = String(cString: n.objCType)
        if kind == "d" || kind == "f" {
            try writeDouble(&out, n.doubleValue, path: path)
        } else {
            out += n.stringValue
        }
    }

    private static func writeDouble(_ out: inout String, _ d: Double, path: String, text: String? = nil) throws {
        guard d.isFinite else {
            throw JSONEncodingFailure(path: path, reason: "\(d) is not a JSON number: send nil or a string instead")
        }
        out += text ?? "\(d)"
    }

    private static func writeObject(_ out: inout String, _ object: [String: Any], path: String, depth: Int) throws {
        try checkDepth(path, depth)
        out += "{"
        var first = true
        for (key, item) in object {
            if !first { out += "," }
            first = false
            writeString(&out, key)
            out += ":"
            try writeValue(&out, item, path: child(path, key), depth: depth + 1)
        }
        out += "}"
    }

    private static func writeArray(_ out: inout String, _ items: [Any], path: String, depth: Int) throws {
        try checkDepth(path, depth)
        out += "["
        for (index, item) in items.enumerated() {
            if index > 0 { out += "," }
            try writeValue(&out, item, path: "\(path)[\(index)]", depth: depth + 1)
        }
        out += "]"
    }

    private static func checkDepth(_ path: String, _ depth: Int) throws {
        if depth >= maxDepth {
            throw JSONEncodingFailure(path: path, reason: "is nested more than \(maxDepth) levels deep: does a collection contain itself?")
        }
    }

    /// Writes `s` as a JSON string, escaping quotes, backslashes and control characters.
    static func writeString(_ out: inout String, _ s: String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    private static func iso8601(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: date)
    }
}
