// The console's frame: navigation, the session bar and the page of the route.

import type { ComponentChildren } from 'preact';
import { SessionBar } from './components/session-bar';
import { HealthPage } from './pages/health-page';
import { ManualPage } from './pages/manual-page';
import { MessagesPage } from './pages/messages-page';
import { SagaPage } from './pages/saga-page';
import { SagasPage } from './pages/sagas-page';
import { useRoute, type Route } from './router';
import { SessionProvider, useSessionState } from './session';

const NAV: { page: Route['page']; href: string; label: string }[] = [
  { page: 'sagas', href: '#/sagas', label: 'Sagas' },
  { page: 'manual', href: '#/manual', label: 'MANUAL queue' },
  { page: 'messages', href: '#/messages', label: 'Messages' },
  { page: 'health', href: '#/health', label: 'Health & alerts' },
];

export function App() {
  const route = useRoute();
  const session = useSessionState();
  let page: ComponentChildren;
  switch (route.page) {
    case 'saga':
      page = <SagaPage id={route.id} key={route.id} />;
      break;
    case 'manual':
      page = <ManualPage />;
      break;
    case 'messages':
      page = <MessagesPage />;
      break;
    case 'health':
      page = <HealthPage />;
      break;
    default:
      page = <SagasPage query={route.query} />;
  }
  return (
    <SessionProvider value={session}>
      <a
        href="#main"
        class="skip"
        onClick={(e) => {
          // The hash is the route: move focus without changing it.
          e.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Saga console</span>
        <nav aria-label="Pages">
          <ul>
            {NAV.map((n) => (
              <li key={n.page}>
                <a href={n.href} aria-current={route.page === n.page || (n.page === 'sagas' && route.page === 'saga') ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <SessionBar />
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </SessionProvider>
  );
}
