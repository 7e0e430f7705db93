//! Enums are stored under their GraphQL names, so the API and the database
//! spell every value alike and one derive lists the values.

use async_graphql::resolver_utils::EnumType;

pub fn name<T: EnumType>(value: T) -> &'static str {
    T::items().iter().find(|item| item.value == value).map(|item| item.name).unwrap_or_default()
}

pub fn parse<T: EnumType>(name: &str) -> Option<T> {
    T::items().iter().find(|item| item.name == name).map(|item| item.value)
}
