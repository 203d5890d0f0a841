export interface Config {
  storeplane?: {
    permissions?: {
      /**
       * Entity refs of Storeplane administrators, e.g. `group:default/platform-admins`. A
       * user is an administrator when their user entity ref or one of their ownership entity
       * refs (their groups) is listed. Administrators may delete, retry and read the
       * credentials of every store and create stores for any owner. Default: none.
       */
      admins?: string[];
    };
  };
}
