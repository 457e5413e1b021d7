// The one rule for XDS_ADDRESS, shared by config validation and the xDS client: https://host[:port]
// (TLS, the default) or an explicit http://host[:port] for a plaintext control plane, nothing else.

/** Why `address` is not a usable xDS address, or undefined if it is. */
export function xdsAddressProblem(address: string): string | undefined {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return 'expected https://host:port (or http://host:port for a plaintext control plane)';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return `unsupported scheme "${url.protocol}": expected https:// (TLS) or http:// (plaintext)`;
  }
  if (url.hostname === '') return 'expected https://host:port (or http://host:port)';
  if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    return 'expected scheme://host:port without path, query or credentials';
  }
  return undefined;
}

/** grpc-js target `host:port` of a valid xDS address (port default 443 for https, 80 for http). */
export function xdsTarget(address: string): { readonly target: string; readonly tls: boolean } {
  const url = new URL(address);
  const tls = url.protocol === 'https:';
  return { target: `${url.hostname}:${url.port || (tls ? '443' : '80')}`, tls };
}
