import { createRoot } from 'react-dom/client';
import './app/theme.css';
import { App } from './app/App';
import { refreshSession } from './auth/api';
import { preloadForPath } from './app/preload';

// Start the session check and, on a viewer URL, the viewer chunk in parallel with React's first render:
// the first image is on the critical path of a deep link, and waiting for each in turn costs seconds.
// (Not on the log-in page itself, where the answer is a foregone 401.)
if (window.location.pathname !== '/login') void refreshSession();
preloadForPath(window.location.pathname);

createRoot(document.getElementById('root')!).render(<App />);
