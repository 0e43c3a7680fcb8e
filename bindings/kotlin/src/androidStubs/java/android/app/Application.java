package android.app;

public class Application extends android.content.Context {
    public interface ActivityLifecycleCallbacks {
        void onActivityCreated(Activity activity, android.os.Bundle savedInstanceState);
        void onActivityStarted(Activity activity);
        void onActivityResumed(Activity activity);
        void onActivityPaused(Activity activity);
        void onActivityStopped(Activity activity);
        void onActivitySaveInstanceState(Activity activity, android.os.Bundle outState);
        void onActivityDestroyed(Activity activity);
    }
    public void registerActivityLifecycleCallbacks(ActivityLifecycleCallbacks callback) {}
    public android.content.Context getApplicationContext() { return this; }
    public String getPackageName() { return null; }
    public android.content.pm.PackageManager getPackageManager() { return null; }
    public android.content.pm.ApplicationInfo getApplicationInfo() { return null; }
    public java.io.File getNoBackupFilesDir() { return null; }
    public android.content.res.Resources getResources() { return null; }
}
