/**
 * Where the XP-R API is. The default suits `xpr` on its default address; a
 * page opened with `?api=http://host:port` remembers another server (in this
 * browser's localStorage) until `?api=` names a different one.
 */
const DEFAULT_API = 'http://127.0.0.1:8080';
const STORAGE_KEY = 'xpr.api';

function resolveApiOrigin(): string {
  const fromQuery = new URLSearchParams(location.search).get('api');
  if (fromQuery) {
    localStorage.setItem(STORAGE_KEY, fromQuery);
    return fromQuery.replace(/\/+$/, '');
  }
  return (localStorage.getItem(STORAGE_KEY) ?? DEFAULT_API).replace(/\/+$/, '');
}

export const apiOrigin = resolveApiOrigin();
export const graphqlHttpUrl = `${apiOrigin}/graphql`;
export const graphqlWsUrl = graphqlHttpUrl.replace(/^http/, 'ws');
