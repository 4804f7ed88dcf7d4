// The host side of tests/browser: the official MCP Apps AppBridge (@modelcontextprotocol/ext-apps) hosting a view
// in a sandboxed iframe under the spec's default CSP, as a web host does. The view's MCP requests (resources/read,
// tools/call) go to window.mcpCall, which the test binds to the MCP SDK's Client connected to our server.
import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";

// The CSP the spec gives a view that declares no domains: no network at all; images and media from data: only.
const DEFAULT_CSP = [
  "default-src 'none'", "script-src 'self' 'unsafe-inline'", "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:", "media-src 'self' data:", "font-src 'self'", "connect-src 'none'", "frame-src 'none'",
  "object-src 'none'", "base-uri 'self'",
].join("; ");

window.videogenHost = {
  bridge: null,
  opened: [],

  // Load the view's HTML into a fresh iframe and wait until it has initialised over the bridge.
  async open({ html, tool, theme, variables }) {
    const frame = document.createElement("iframe");
    frame.setAttribute("sandbox", "allow-scripts");  // no allow-same-origin: the view runs on an opaque origin
    frame.title = "view";
    frame.style.cssText = "display: block; width: 560px; height: 200px; border: 1px solid #8886; border-radius: 8px";
    frame.srcdoc = html.replace(/<head>/i, `<head><meta http-equiv="Content-Security-Policy" content="${DEFAULT_CSP}">`);
    document.body.append(frame);
    this.context = {
      theme, styles: { variables: variables || {} }, displayMode: "inline", availableDisplayModes: ["inline"],
      platform: "web", toolInfo: { tool }, containerDimensions: { width: 560, maxHeight: 900 },
    };
    const bridge = new AppBridge(
      null,
      { name: "videogen-browser-test", version: "1.0.0" },
      { serverTools: {}, serverResources: {}, openLinks: {} },
      { hostContext: this.context },
    );
    bridge.onreadresource = (params) => window.mcpCall("resources/read", params);
    bridge.oncalltool = (params) => window.mcpCall("tools/call", params);
    bridge.onopenlink = async ({ url }) => { this.opened.push(url); return {}; };
    bridge.onsizechange = ({ height }) => { if (height) frame.style.height = `${height}px`; };
    const initialized = new Promise((resolve) => { bridge.oninitialized = resolve; });
    await bridge.connect(new PostMessageTransport(frame.contentWindow, frame.contentWindow));
    await initialized;
    this.bridge = bridge;
  },

  input(args) { return this.bridge.sendToolInput({ arguments: args }); },
  result(result) { return this.bridge.sendToolResult(result); },
  // The user switched the host's theme: ui/notifications/host-context-changed with what changed.
  setTheme(theme) { this.context = { ...this.context, theme }; this.bridge.setHostContext(this.context); },
};
