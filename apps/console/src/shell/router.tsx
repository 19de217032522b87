import { useEffect, useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';

/** The page's routes; anything else shows the tasks. */
export type Page = 'tasks' | 'operations';

export function pageOf(pathname: string): Page {
  return pathname === '/operations' || pathname.startsWith('/operations/') ? 'operations' : 'tasks';
}

const subscribe = (onChange: () => void) => {
  window.addEventListener('popstate', onChange);
  return () => window.removeEventListener('popstate', onChange);
};

/** The current path, re-rendering on back/forward and on {@link navigate}. */
export const usePathname = () => useSyncExternalStore(subscribe, () => window.location.pathname);

export function navigate(path: string): void {
  if (path === window.location.pathname) return;
  window.history.pushState(null, '', path);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

/** An ordinary link (middle-click and "open in new tab" work) that navigates in place on a plain click. */
export function Link({ href, onClick, children, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const handle = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (
      event.defaultPrevented ||
      event.button !== 0 ||
      event.metaKey ||
      event.ctrlKey ||
      event.shiftKey ||
      event.altKey
    )
      return;
    event.preventDefault();
    navigate(href);
  };
  return (
    <a href={href} onClick={handle} {...rest}>
      {children}
    </a>
  );
}

/** Names the document after the page, for the tab, history and screen readers. */
export function useDocumentTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · CQRS console`;
  }, [title]);
}
