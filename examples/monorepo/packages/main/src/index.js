// Async boundary so the federation runtime can initialise before app code runs.
import('./bootstrap');
