import type { ErrorLike, ObservableQuery } from '@apollo/client';
import { map, type OperatorFunction } from 'rxjs';

/** What a page renders from a watched query: complete data only (no partial results), the loading flag, the error. */
export interface View<TData> {
  data: TData | undefined;
  loading: boolean;
  error: ErrorLike | undefined;
}

export function view<TData>(): OperatorFunction<ObservableQuery.Result<TData>, View<TData>> {
  return map((result) => ({
    data: result.dataState === 'complete' ? (result.data as TData) : undefined,
    loading: result.loading,
    error: result.error,
  }));
}
