package android.content;

public abstract class Context {
    public abstract Context getApplicationContext();
    public abstract String getPackageName();
    public abstract android.content.pm.PackageManager getPackageManager();
    public abstract android.content.pm.ApplicationInfo getApplicationInfo();
    public abstract java.io.File getNoBackupFilesDir();
    public abstract android.content.res.Resources getResources();
}
