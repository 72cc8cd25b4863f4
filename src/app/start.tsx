// First: no eval probe from zod under the CSP (see zod-jitless.ts).
import './zod-jitless';
import { createRoot } from 'react-dom/client';
import './theme.css';
import { App } from './App';
import { refreshSession } from '../auth/api';
import { preloadForPath } from './preload';

// The session check starts in parallel with React's first render (not on the log-in page itself,
// where the answer is a foregone 401).
if (window.location.pathname !== '/login') void refreshSession();
preloadForPath(window.location.pathname);

createRoot(document.getElementById('root')!).render(<App />);
