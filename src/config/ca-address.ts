// The one rule for CA_ADDRESS, shared by config validation and the istiod CA client: the CA is
// only ever reached over TLS, at https://host[:port] with nothing else in the URL.

/** The istiod CA is only ever reached over TLS: anything but https://host[:port] is refused. */
export function caAddressProblem(address: string): string | undefined {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return 'expected https://host:port';
  }
  if (url.protocol !== 'https:') return 'only https:// is supported (the CA is always reached over TLS)';
  if (url.hostname === '') return 'expected https://host:port';
  if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.username !== '') {
    return 'expected https://host:port without path, query or credentials';
  }
  return undefined;
}
