// Decides what the facade knows about the Apple platform it runs on
// (Segment's context fields app, os, device, locale, timezone) without
// touching UIKit (whose objects belong to the main actor), and how it is
// combined with the app's own context: the app's values win, at every depth.

import Foundation

enum PlatformContext {
    static func current() -> [String: Any] {
        var ctx: [String: Any] = [:]
        let info = Bundle.main.infoDictionary ?? [:]
        var app: [String: Any] = [:]
        if let name = (info["CFBundleDisplayName"] as? String) ?? (info["CFBundleName"] as? String) { app["name"] = name }
        if let version = info["CFBundleShortVersionString"] as? String { app["version"] = version }
        if let build = info["CFBundleVersion"] as? String { app["build"] = build }
        if let id = Bundle.main.bundleIdentifier { app["namespace"] = id }
        if !app.isEmpty { ctx["app"] = app }

        let v = ProcessInfo.processInfo.operatingSystemVersion
        let version = "\(v.majorVersion).\(v.minorVersion).\(v.patchVersion)"
        #if os(iOS)
        ctx["os"] = ["name": "iOS", "version": version]
        ctx["device"] = ["manufacturer": "Apple", "model": sysctlString("hw.machine") ?? "unknown", "type": "ios"]
        #elseif os(macOS)
        ctx["os"] = ["name": "macOS", "version": version]
        ctx["device"] = ["manufacturer": "Apple", "model": sysctlString("hw.model") ?? "unknown", "type": "macos"]
        #else
        ctx["os"] = ["name": ProcessInfo.processInfo.operatingSystemVersionString, "version": version]
        #endif
        ctx["locale"] = Locale.current.identifier.replacingOccurrences(of: "_", with: "-")
        ctx["timezone"] = TimeZone.current.identifier
        return ctx
    }

    /// `base` with `overrides` laid over it; nested dictionaries are merged, other values replace.
    static func merge(_ base: [String: Any], _ overrides: [String: Any]) -> [String: Any] {
        var out = base
        for (key, value) in overrides {
            if let under = out[key] as? [String: Any], let over = value as? [String: Any] {
                out[key] = merge(under, over)
            } else {
                out[key] = value
            }
        }
        return out
    }

    #if canImport(Darwin)
    private static func sysctlString(_ name: String) -> String? {
        var size = 0
        guard sysctlbyname(name, nil, &size, nil, 0) == 0, size > 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: size)
        guard sysctlbyname(name, &buffer, &size, nil, 0) == 0 else { return nil }
        return String(cString: buffer)
    }
    #else
    private static func sysctlString(_ name: String) -> String? { nil }
    #endif
}
